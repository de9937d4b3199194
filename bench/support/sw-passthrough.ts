import { createReadStream, rmSync, statSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Browser } from 'playwright-core'

/**
 * The bare mechanism under the decrypted download: a file downloaded by the browser from a bare
 * node server, straight and through a service worker whose JavaScript passes every chunk on
 * unchanged (an identity TransformStream, no decryption, no record framing). What the app's
 * decrypting service worker cannot beat however fast its decryption gets.
 */
const PAGE = `<!doctype html><script>navigator.serviceWorker.register('/sw.js', { scope: '/through/' })</script>`

function worker(size: number): string {
  return `self.addEventListener('install', () => self.skipWaiting())
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()))
self.addEventListener('fetch', (e) => {
  if (!new URL(e.request.url).pathname.startsWith('/through/')) return
  e.respondWith(fetch('/file').then((res) => new Response(res.body.pipeThrough(new TransformStream()), {
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Disposition': 'attachment; filename=through.bin', 'Content-Length': '${size}' },
  })))
})`
}

export interface PassThroughLeg {
  ms: number
  /** CPU seconds of the browser's processes (all of them) during the download */
  browserCpu: number
}

/**
 * Downloads `path` once straight (`direct`) and once through the pass-through service worker
 * (`throughWorker`), each in a fresh context of `browser`; `cpu()` reads the browser's CPU seconds.
 */
export async function measurePassThrough(browser: Browser, path: string, cpu: () => number): Promise<{ direct: PassThroughLeg; throughWorker: PassThroughLeg }> {
  const size = statSync(path).size
  const server = createServer((req, res) => {
    if (req.url === '/sw.js') return res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(worker(size))
    if (req.url === '/file') {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size), 'Content-Disposition': 'attachment; filename=direct.bin' })
      return void createReadStream(path, { highWaterMark: 256 * 1024 }).pipe(res)
    }
    res.writeHead(200, { 'Content-Type': 'text/html' }).end(PAGE)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const leg = async (url: string): Promise<PassThroughLeg> => {
    const context = await browser.newContext({ acceptDownloads: true })
    try {
      const page = await context.newPage()
      await page.goto(`${base}/`)
      // (page code as strings: this project's types have no DOM)
      await page.waitForFunction(`navigator.serviceWorker.getRegistration('/through/').then((r) => r?.active?.state === 'activated')`, undefined, { timeout: 30_000 })
      const before = cpu()
      const started = performance.now()
      // An iframe navigates to the URL, as the app's download does: the worker answers navigations in its scope.
      const [download] = await Promise.all([
        page.waitForEvent('download', { timeout: 3_600_000 }),
        page.evaluate(`document.body.append(Object.assign(document.createElement('iframe'), { src: ${JSON.stringify(url)} }))`),
      ])
      const saved = await download.path()
      const ms = performance.now() - started
      const browserCpu = Math.round((cpu() - before) * 100) / 100
      const got = statSync(saved).size
      rmSync(saved, { force: true })
      if (got !== size) throw new Error(`pass-through download: ${got} bytes instead of ${size}`)
      return { ms, browserCpu }
    } finally {
      await context.close()
    }
  }
  try {
    return { direct: await leg(`${base}/file`), throughWorker: await leg(`${base}/through/file`) }
  } finally {
    server.close()
  }
}
