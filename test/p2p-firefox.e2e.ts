/**
 * P2P across browser engines: Firefox ESR (WebDriver BiDi, puppeteer-core) and Chromium
 * (playwright-core) in one room, files both ways, compared by SHA-256 of what each receiver saved.
 */
import type { Browser as PwBrowser } from 'playwright-core'
import type { ElementHandle, Browser as FfBrowser, Page as FfPage } from 'puppeteer-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp, type AppProcess } from './support/app-server'
import { launchBrowser } from './support/browser'
import { randomFile, sha256File, tempDir } from './support/files'
import { launchFirefox } from './support/firefox'
import { MB, accept, connectedTo, device, savedSha, send, watch, type Device } from './support/p2p'

let app: AppProcess
let chromium: PwBrowser
let firefox: FfBrowser
let files: ReturnType<typeof tempDir>

beforeAll(async () => {
  files = tempDir()
  ;[app, chromium, firefox] = await Promise.all([startApp(), launchBrowser(), launchFirefox()])
})

afterAll(async () => {
  await app?.stop()
  await chromium?.close()
  await firefox?.close()
  files?.remove()
})

async function firefoxDevice(name: string): Promise<FfPage> {
  const page = await firefox.newPage()
  page.setDefaultTimeout(60_000)
  await page.goto(`${app.url}/p2p`)
  await page.evaluate((n) => localStorage.setItem('sharesync.p2p.name', n), name)
  await page.reload()
  return page
}

const ffPhase = (page: FfPage, direction: string) =>
  page.evaluate((d) => document.querySelector<HTMLElement>(`[data-testid=transfer][data-direction=${d}]`)?.dataset.phase ?? '', direction)

async function ffFinal(page: FfPage, direction: string): Promise<string> {
  await page.waitForFunction(
    (d) => ['completed', 'failed', 'cancelled', 'declined'].includes(document.querySelector<HTMLElement>(`[data-testid=transfer][data-direction=${d}]`)?.dataset.phase ?? ''),
    { timeout: 90_000, polling: 100 },
    direction,
  )
  return ffPhase(page, direction)
}

/** SHA-256 of the file a Firefox receiver saved in its private storage (read back in the page). */
function ffSavedSha(page: FfPage): Promise<string[]> {
  return page.evaluate(async () => {
    const dir = (await (await navigator.storage.getDirectory()).getDirectoryHandle('sharesync-p2p')) as FileSystemDirectoryHandle & { values(): AsyncIterable<FileSystemFileHandle> }
    const out: string[] = []
    for await (const h of dir.values()) {
      const digest = await crypto.subtle.digest('SHA-256', await (await h.getFile()).arrayBuffer())
      out.push(Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join(''))
    }
    return out
  })
}

describe('P2P between Firefox and Chromium', () => {
  it('Firefox → Chromium and Chromium → Firefox: both files arrive byte-identical', async () => {
    const ff = await firefoxDevice('Fiona Firefox')
    const chrome: Device = await device(chromium, 'Carl Chromium')
    // Firefox creates the room, Chromium opens its link.
    await ff.locator('button ::-p-text(Create a room)').click()
    await ff.waitForSelector('[data-testid=room-link]')
    const link = (await ff.$eval('[data-testid=room-link]', (e) => e.textContent ?? '')).trim()
    await chrome.page.goto(link)
    await connectedTo(chrome, 1)
    await ff.waitForSelector('[data-testid=peer][data-link=connected]')

    // Firefox sends to Chromium.
    const toChrome = randomFile(files.dir, 'from-firefox.bin', 3 * MB + 11)
    const input = (await ff.$('[data-testid=p2p-file-input]')) as ElementHandle<HTMLInputElement>
    await input.uploadFile(toChrome)
    await ff.locator('button ::-p-text(Send)').click()
    await accept(chrome)
    const received = await watch(chrome, 'receive')
    expect(received.phase).toBe('completed')
    expect(await ffFinal(ff, 'send')).toBe('completed')
    expect(await savedSha(chrome)).toBe(await sha256File(toChrome))

    // Chromium sends to Firefox.
    const toFirefox = randomFile(files.dir, 'from-chromium.bin', 3 * MB + 5)
    await send(chrome, toFirefox, 'Fiona Firefox')
    await ff.waitForSelector('[data-testid=transfer][data-direction=receive][data-phase=offered]')
    await ff.locator('[data-testid=transfer][data-direction=receive] button ::-p-text(Accept)').click()
    expect(await ffFinal(ff, 'receive')).toBe('completed')
    expect((await watch(chrome, 'send')).phase).toBe('completed')
    expect(await ffSavedSha(ff)).toEqual([await sha256File(toFirefox)])
    expect(await ff.$eval('[data-testid=received-file]', (e) => e.textContent ?? '')).toContain('verified')
    expect(chrome.errors).toEqual([])
    await chrome.context.close()
    await ff.close()
  })
})
