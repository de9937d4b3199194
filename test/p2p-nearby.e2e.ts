/**
 * Nearby devices end to end: pages that open /p2p from one network see each other as tiles, with
 * no room code, and send through a tile; a page from another network sees none of them. The app
 * runs behind a (pretend) proxy on loopback, TRUST_PROXY=loopback, and each browser context sends
 * its own X-Forwarded-For, as devices behind two different home routers would arrive.
 */
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp, type AppProcess } from './support/app-server'
import { launchBrowser } from './support/browser'
import { randomFile, sha256File, tempDir } from './support/files'
import { MB, accept, device, savedSha, watch, type Device } from './support/p2p'

const HOME = { 'X-Forwarded-For': '198.51.100.4' }
const ELSEWHERE = { 'X-Forwarded-For': '203.0.113.9' }

let app: AppProcess
let browser: Browser
let files: ReturnType<typeof tempDir>
const opened: Device[] = []

beforeAll(async () => {
  files = tempDir()
  ;[app, browser] = await Promise.all([startApp({ TRUST_PROXY: 'loopback' }), launchBrowser()])
})

afterAll(async () => {
  await app?.stop()
  for (const d of opened) await d.context.close().catch(() => undefined)
  await browser?.close()
  files?.remove()
})

const tiles = (d: Device) => d.page.locator('[data-testid=nearby-device]')
const tile = (d: Device, name: string) => d.page.locator('[data-testid=nearby-device][data-link=connected]', { hasText: name })
const panel = (d: Device) => d.page.getByTestId('nearby-panel')

describe('nearby devices in the browser', () => {
  it('two devices on one network see each other without a code and a file sent through a tile arrives byte-identical; a device on another network sees neither; a hidden device disappears', async () => {
    const [a, b, c] = await Promise.all([device(browser, 'Alice laptop', { headers: HOME }), device(browser, 'Bob phone', { headers: HOME }), device(browser, 'Carol tablet', { headers: ELSEWHERE })])
    opened.push(a, b, c)
    await Promise.all([a.page.goto(`${app.url}/p2p`), b.page.goto(`${app.url}/p2p`)])
    await tile(a, 'Bob phone').waitFor({ timeout: 30_000 })
    await tile(b, 'Alice laptop').waitFor({ timeout: 30_000 })

    // Carol's group is joined (the server answered with its members: none) and stays empty.
    await c.page.goto(`${app.url}/p2p`)
    await expect.poll(() => panel(c).getAttribute('data-state')).toBe('on')
    expect(await tiles(c).count()).toBe(0)
    expect(await tiles(a).allTextContents()).toEqual([expect.stringContaining('Bob phone')])

    const path = randomFile(files.dir, 'nearby.bin', 2 * MB + 1)
    await tile(a, 'Bob phone').getByTestId('nearby-file-input').setInputFiles(path)
    await accept(b)
    const [sent, received] = await Promise.all([watch(a, 'send'), watch(b, 'receive')])
    expect([sent.phase, received.phase]).toEqual(['completed', 'completed'])
    expect(await savedSha(b)).toBe(await sha256File(path))

    await b.page.getByLabel('Hide this device from nearby devices').check()
    await tiles(a).waitFor({ state: 'detached', timeout: 20_000 })
    expect(await panel(b).getAttribute('data-state')).toBe('hidden')
    expect([...a.errors, ...b.errors, ...c.errors]).toEqual([])
  })
})
