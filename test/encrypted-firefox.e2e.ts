/**
 * An end-to-end encrypted upload from Firefox ESR (WebDriver BiDi, puppeteer-core), the page under
 * the app's service worker: Firefox has no static routing, so that worker sees every part's PUT, and
 * Firefox keeps each intercepted body made in memory for as long as the worker lives (a 1 GiB upload
 * kept 1 GiB in its parent process). The sealed parts go through scratch files instead; this proves
 * the memory stays, the scratch files go, and the link decrypts to the same bytes (in Chromium).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser as PwBrowser } from 'playwright-core'
import type { ElementHandle, Browser as FfBrowser } from 'puppeteer-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp, type AppProcess } from './support/app-server'
import { launchBrowser } from './support/browser'
import { randomFile, sha256File, tempDir } from './support/files'
import { launchFirefox } from './support/firefox'

const MiB = 1024 * 1024
const SIZE = 96 * MiB + 123

let app: AppProcess
let chromium: PwBrowser
let firefox: FfBrowser
let files: ReturnType<typeof tempDir>

beforeAll(async () => {
  files = tempDir()
  ;[app, chromium, firefox] = await Promise.all([
    startApp({ PART_SIZE: '8MiB', UPLOAD_RATE_LIMIT: '1000/1h', SHARE_CREATE_RATE_LIMIT: '1000/1h' }),
    launchBrowser(),
    // the driver's network events off: with them, Firefox keeps every body for the driver itself
    launchFirefox({ network: false }),
  ])
})

afterAll(async () => {
  await app?.stop()
  await chromium?.close()
  await firefox?.close()
  files?.remove()
})

/** Resident memory of Firefox's parent process (where it keeps intercepted bodies), from /proc. */
function parentRss(): number {
  const kib = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${firefox.process()!.pid}/status`, 'utf8'))
  return Number(kib![1]) * 1024
}

describe('end-to-end encrypted upload from Firefox ESR under the service worker', () => {
  it('keeps no part in memory, leaves no scratch file, and the link decrypts to identical bytes', async () => {
    const path = randomFile(files.dir, 'from-firefox.bin', SIZE)
    const page = await firefox.newPage()
    page.setDefaultTimeout(60_000)
    await page.goto(`${app.url}/`)
    await page.waitForFunction(() => navigator.serviceWorker.ready.then(() => true))
    await page.reload()
    expect(await page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true)

    const input = (await page.waitForSelector('[data-testid=file-input]')) as ElementHandle<HTMLInputElement>
    await input.uploadFile(path)
    await page.waitForSelector('::-p-text(Create a link)')
    const encryption = (await page.waitForSelector('::-p-aria(End-to-end encryption)')) as ElementHandle<HTMLInputElement>
    if (!(await encryption.evaluate((el) => el.checked))) await encryption.click()
    const before = parentRss()
    await page.locator('button ::-p-text(Upload and create link)').click()
    await page.waitForSelector('[data-testid=cloud-copy][data-state=done], [data-testid=cloud-copy][data-state=failed]', { timeout: 150_000 })
    expect(await page.$eval('[data-testid=cloud-copy]', (el) => (el as HTMLElement).dataset.state)).toBe('done')
    const grown = parentRss() - before

    // Before the scratch files, the parent process grew by the whole upload (every part kept).
    expect(grown).toBeLessThan(SIZE / 2)
    // Each part's scratch file is removed once its PUT is over.
    const left = await page.evaluate(async () => {
      const dir = (await (await navigator.storage.getDirectory()).getDirectoryHandle('sharesync-parts', { create: true })) as FileSystemDirectoryHandle & { keys(): AsyncIterable<string> }
      const names: string[] = []
      for await (const name of dir.keys()) names.push(name)
      return names
    })
    expect(left).toEqual([])

    const link = await page.$eval('[data-testid=share-url]', (el) => (el as HTMLInputElement).value)
    expect(link).toMatch(/#/)
    await page.close()

    const context = await chromium.newContext({ acceptDownloads: true })
    try {
      const recipient = await context.newPage()
      await recipient.goto(link)
      const [dl] = await Promise.all([
        recipient.waitForEvent('download', { timeout: 120_000 }),
        recipient.getByRole('button', { name: 'Download from-firefox.bin' }).click(),
      ])
      const saved = join(files.dir, 'saved.bin')
      await dl.saveAs(saved)
      expect(await sha256File(saved)).toBe(await sha256File(path))
    } finally {
      await context.close()
    }
  })
})
