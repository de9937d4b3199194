/**
 * The app's service worker (frontend/public/sw.js) and uploads, in headless Chromium: part PUTs and
 * API calls go straight to the network by its static routes, so no fetch event — and no request
 * body held on the worker's heap — exists for them. Before the routes, every part of an encrypted
 * upload (a Blob in memory) stayed in the browser's memory while the worker lived.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp, type AppProcess } from './support/app-server'
import { launchBrowser } from './support/browser'
import { chooseFiles, submitUpload } from './support/cloud-ui'
import { randomFile, tempDir } from './support/files'

const MiB = 2 ** 20

let app: AppProcess
let browser: Browser
let files: ReturnType<typeof tempDir>
const contexts: BrowserContext[] = []

beforeAll(async () => {
  files = tempDir()
  ;[app, browser] = await Promise.all([startApp({ PART_SIZE: '5MiB', UPLOAD_RATE_LIMIT: '1000/1h' }), launchBrowser()])
})

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined)
  await browser?.close()
  await app?.stop()
  files?.remove()
})

/** A page controlled by the app's service worker (installed, activated and claiming the page). */
async function controlledPage(): Promise<Page> {
  const context = await browser.newContext()
  contexts.push(context)
  const page = await context.newPage()
  await page.goto(`${app.url}/`)
  await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller?.state ?? null), { timeout: 30_000 }).toBe('activated')
  return page
}

interface Seen {
  method: string
  url: string
  /** how the service worker's static routes matched the request (Chromium's DevTools protocol), if at all */
  router?: { matchedSourceType?: string }
  fromServiceWorker?: boolean
}

/** Every request the page sends, with what the DevTools protocol says the service worker did with it. */
async function watchRequests(page: Page): Promise<Map<string, Seen>> {
  const cdp = await page.context().newCDPSession(page)
  const seen = new Map<string, Seen>()
  cdp.on('Network.requestWillBeSent', (e) => seen.set(e.requestId, { method: e.request.method, url: e.request.url }))
  cdp.on('Network.responseReceived', (e) => {
    const s = seen.get(e.requestId)
    if (s) Object.assign(s, { router: e.response.serviceWorkerRouterInfo, fromServiceWorker: e.response.fromServiceWorker })
  })
  await cdp.send('Network.enable')
  return seen
}

describe('the service worker and uploads', () => {
  it('an encrypted upload: every part PUT and API call goes to the network by a static route, never through a fetch event', async () => {
    const page = await controlledPage()
    const seen = await watchRequests(page)
    const path = randomFile(files.dir, 'three-parts.bin', 12 * MiB)
    await chooseFiles(page, app.url, [path])
    await page.getByLabel('End-to-end encryption').check()
    await submitUpload(page)
    await page.waitForURL(/\/links\//)
    await page.locator('[data-testid=cloud-copy][data-state=done]').waitFor({ timeout: 120_000 })
    // (a request cancelled before its answer — the page navigating mid-call — has no response to read)
    const all = [...seen.values()].filter((s) => s.fromServiceWorker !== undefined)
    const puts = all.filter((s) => s.method === 'PUT')
    const api = all.filter((s) => new URL(s.url).pathname.startsWith('/api/'))
    // three parts (5 + 5 + 2 MiB), and the API calls that created, signed, completed and finalized them
    expect(puts.length).toBeGreaterThanOrEqual(3)
    expect(api.some((s) => s.method === 'POST' && new URL(s.url).pathname === '/api/shares')).toBe(true)
    for (const s of [...puts, ...api]) {
      expect({ url: s.url, source: s.router?.matchedSourceType, fromServiceWorker: s.fromServiceWorker }).toEqual({ url: s.url, source: 'network', fromServiceWorker: false })
    }
    // The page's own files still come from the worker's cache (its fetch handler is still there).
    expect(all.some((s) => new URL(s.url).pathname.startsWith('/assets/') && s.fromServiceWorker === true)).toBe(true)
    // The worker says it routes PUTs past itself, so the page sent its parts from memory, with no
    // scratch files (those are for a worker that cannot: Firefox, encrypted-firefox.e2e.ts).
    const answer = await page.evaluate(
      () =>
        new Promise((resolve) => {
          // what the worker must ignore (and still answer after): other messages, the question without a port
          const worker = navigator.serviceWorker.controller!
          for (const junk of ['static-routes?', null, { type: 'other' }, { type: 'static-routes?' }, 'x'.repeat(1 << 20)]) worker.postMessage(junk)
          const channel = new MessageChannel()
          channel.port1.onmessage = (e) => resolve(e.data)
          worker.postMessage({ type: 'static-routes?' }, [channel.port2])
        }),
    )
    expect(answer).toEqual({ staticRoutes: true })
    const staged = await page.evaluate(() =>
      navigator.storage.getDirectory().then((root) => root.getDirectoryHandle('sharesync-parts').then(() => 'exists', (e: Error) => e.name)),
    )
    expect(staged).toBe('NotFoundError')
  })
})
