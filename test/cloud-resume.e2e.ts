/**
 * Interrupted uploads: the network to storage is cut (or the server goes away) mid-upload, then comes
 * back. The upload continues from the parts the server already holds, and the link's file is
 * byte-identical to the original. No part that reached the server is ever sent again.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page, Request } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp } from './support/app-server'
import { launchBrowser } from './support/browser'
import { chooseFiles, submitUpload, waitForResult } from './support/cloud-ui'
import { randomFile, sha256File, tempDir } from './support/files'
import { readPercents, recordUploadPercents, screenshot } from './support/pages'

const MiB = 1024 * 1024
const PART_SIZE = 5 * MiB
const ENV = { PART_SIZE: '5MiB', UPLOAD_RATE_LIMIT: '1000/1h', SHARE_CREATE_RATE_LIMIT: '1000/1h' }
const PART_URL = /\/api\/blobs\/parts\/[^/]+\/(\d+)\?/

let browser: Browser
let files: ReturnType<typeof tempDir>
const contexts: BrowserContext[] = []

const partOf = (req: Request) => {
  const m = req.method() === 'PUT' ? PART_URL.exec(req.url()) : null
  return m ? Number(m[1]) : null
}

/**
 * Counts part PUTs per part number: sent (issued by the page, including those our "network cut"
 * aborts before they leave the browser) and stored (answered 2xx).
 */
function watchParts(page: Page) {
  const sent = new Map<number, number>()
  const stored = new Map<number, number>()
  const inFlight = new Set<Request>()
  // A timeline of part events, printed when an assertion about them fails.
  const history: string[] = []
  page.on('request', (req) => {
    const n = partOf(req)
    if (n === null) return
    history.push(`${Date.now() % 100000} sent ${n}`)
    sent.set(n, (sent.get(n) ?? 0) + 1)
    inFlight.add(req)
  })
  page.on('requestfailed', (req) => {
    const n = partOf(req)
    if (n === null) return
    history.push(`${Date.now() % 100000} failed ${n} ${req.failure()?.errorText}`)
    inFlight.delete(req)
  })
  page.on('requestfinished', async (req) => {
    const n = partOf(req)
    if (n === null) return
    const res = await req.response()
    history.push(`${Date.now() % 100000} finished ${n} ${res?.status()}`)
    if (res && res.status() >= 200 && res.status() < 300) stored.set(n, (stored.get(n) ?? 0) + 1)
    inFlight.delete(req)
  })
  return { sent, stored, inFlight, history }
}

async function newContext(): Promise<BrowserContext> {
  // No service worker: every part request is seen (and routed) by this page alone.
  const context = await browser.newContext({ acceptDownloads: true, serviceWorkers: 'block' })
  contexts.push(context)
  return context
}

async function downloadHash(link: string, fileName: string): Promise<string> {
  const page = await (await newContext()).newPage()
  await page.goto(link)
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: `Download ${fileName}` }).click()])
  const saved = join(files.dir, `downloaded-${Date.now()}`)
  await download.saveAs(saved)
  return sha256File(saved)
}

const waitUntil = async (what: string, check: () => boolean, timeout = 60_000) => {
  const deadline = Date.now() + timeout
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

beforeAll(async () => {
  files = tempDir()
  browser = await launchBrowser()
})

afterAll(async () => {
  await Promise.all(contexts.map((c) => c.close().catch(() => undefined)))
  await browser?.close()
  files?.remove()
})

describe('resuming an interrupted upload', () => {
  it('after the part URLs are cut and the page reloaded, the upload resumes from stored parts and the file is byte-identical', async () => {
    const app = await startApp(ENV)
    try {
      const size = 100 * MiB + 12345
      const partCount = Math.ceil(size / PART_SIZE)
      const path = randomFile(files.dir, 'resume-me.bin', size)
      const expected = await sha256File(path)

      const page = await (await newContext()).newPage()
      const parts = watchParts(page)
      // The "network" to storage: routed from the start (so the page's requests are all observed
      // the same way), passing everything until the cut.
      const cut = new Map<number, number>()
      let connected = true
      await page.route(PART_URL, async (route) => {
        if (connected) return route.continue()
        const n = partOf(route.request())
        if (n !== null) cut.set(n, (cut.get(n) ?? 0) + 1)
        parts.history.push(`${Date.now() % 100000} cut ${n}`)
        await route.abort('internetdisconnected')
      })
      await chooseFiles(page, app.url, [path])
      await submitUpload(page)

      // Let a few parts land, then cut the connection to storage.
      await waitUntil('4 stored parts', () => parts.stored.size >= 4)
      connected = false
      await page.getByRole('heading', { name: /Connection lost/ }).waitFor({ timeout: 30_000 })
      // Parts already on their way when the cut happened still finish: let them, before the reload.
      await waitUntil('no part in flight', () => parts.inFlight.size === 0)
      const storedBeforeReload = new Set(parts.stored.keys())
      expect(storedBeforeReload.size).toBeGreaterThanOrEqual(4)
      expect(storedBeforeReload.size).toBeLessThan(partCount)

      // The connection is back; the person reloads and picks the same file again.
      parts.history.push('reload')
      connected = true
      await page.reload()
      await page.getByRole('heading', { name: 'Resume upload' }).waitFor()
      await page.getByText('resume-me.bin').first().waitFor()
      const sentBeforeResume = new Map(parts.sent)
      // A different file with the same name is refused: its bytes would corrupt the upload.
      const impostor = randomFile(mkdirSync(join(files.dir, 'elsewhere'), { recursive: true }) ?? files.dir, 'resume-me.bin', 1000)
      await page.getByTestId('resume-input').setInputFiles(impostor)
      await page.getByText('Not the same file').waitFor()
      await screenshot(page, 'resume-laptop')
      await recordUploadPercents(page)
      // Picked with the page's main picker (as if dropped anywhere): it is recognised and resumed.
      await page.getByTestId('file-input').setInputFiles(path)
      const link = await waitForResult(page)

      // It started from what was stored, not from zero.
      const percents = await readPercents(page)
      expect(percents[0]).toBeGreaterThanOrEqual(Math.floor((storedBeforeReload.size * PART_SIZE * 100) / size))
      expect(percents[percents.length - 1]).toBe(100)

      // Every part reached the server exactly once (a part in flight at the reload may have been
      // stored without the page seeing the answer: it is not sent again either), and none stored
      // before the reload was sent after it.
      for (let n = 1; n <= partCount; n++) {
        expect((parts.sent.get(n) ?? 0) - (cut.get(n) ?? 0), `part ${n} reached the server\n${parts.history.join('\n')}`).toBe(1)
      }
      for (const n of storedBeforeReload) expect(parts.sent.get(n), `part ${n} sent again after the reload`).toBe(sentBeforeResume.get(n))

      expect(await downloadHash(link, 'resume-me.bin')).toBe(expected)
    } finally {
      await app.stop()
    }
  })

  it('when the server dies mid-upload and comes back on the same address, the page continues by itself', async () => {
    const data = tempDir('sharesync-e2e-data-')
    let app = await startApp({ ...ENV, DATA_DIR: data.dir })
    try {
      const size = 80 * MiB + 7
      const partCount = Math.ceil(size / PART_SIZE)
      const path = randomFile(files.dir, 'server-restart.bin', size)
      const expected = await sha256File(path)

      const page = await (await newContext()).newPage()
      const parts = watchParts(page)
      await chooseFiles(page, app.url, [path])
      await submitUpload(page)
      await waitUntil('3 stored parts', () => parts.stored.size >= 3)

      const port = app.port
      await app.kill()
      await page.getByRole('heading', { name: /Connection lost/ }).waitFor({ timeout: 30_000 })
      expect(parts.stored.size).toBeLessThan(partCount)
      app = await startApp({ ...ENV, DATA_DIR: data.dir }, { port })

      const link = await waitForResult(page)
      // No part was stored twice (one whose answer was lost in the crash is found on the server,
      // not sent again); the identical download shows none is missing.
      for (let n = 1; n <= partCount; n++) expect(parts.stored.get(n) ?? 0, `part ${n} stored`).toBeLessThanOrEqual(1)
      expect(await downloadHash(link, 'server-restart.bin')).toBe(expected)
    } finally {
      await app.stop()
      data.remove()
    }
  })

  it('a part that reached storage but whose answer was lost is not sent again', async () => {
    const app = await startApp(ENV)
    try {
      const size = 12 * MiB + 1
      const path = randomFile(files.dir, 'lost-answer.bin', size)
      const page = await (await newContext()).newPage()
      const parts = watchParts(page)
      let lost = 0
      await page.route(PART_URL, async (route) => {
        if (partOf(route.request()) === 2 && lost === 0) {
          lost++
          // Deliver the part to the server, then drop the connection before the answer arrives.
          const res = await route.fetch()
          expect(res.status()).toBe(200)
          return route.abort('connectionreset')
        }
        return route.continue()
      })
      await chooseFiles(page, app.url, [path])
      await submitUpload(page)
      const link = await waitForResult(page)
      expect(lost).toBe(1)
      expect(parts.sent.get(2)).toBe(1)
      expect(await downloadHash(link, 'lost-answer.bin')).toBe(await sha256File(path))
    } finally {
      await app.stop()
    }
  })
})
