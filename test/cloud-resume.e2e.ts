/**
 * Interrupted uploads: the network to storage is cut (or the server goes away) mid-upload, then comes
 * back. The upload continues from the parts the server already holds, and the link's file is
 * byte-identical to the original. No part that reached the server is ever sent again.
 */
import { createHash } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page, Request, Route } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp } from './support/app-server'
import { launchBrowser } from './support/browser'
import { chooseFiles, submitUpload, waitForResult } from './support/cloud-ui'
import { randomFile, sha256File, tempDir } from './support/files'
import { leaveWhenAsked, readPercents, recordUploadPercents, screenshot } from './support/pages'

const MiB = 1024 * 1024
const PART_SIZE = 5 * MiB
const ENV = { PART_SIZE: '5MiB', UPLOAD_RATE_LIMIT: '1000/1h', SHARE_CREATE_RATE_LIMIT: '1000/1h' }
const PART_URL = /\/api\/blobs\/parts\/([^/]+)\/(\d+)\?/
const FINALIZE_URL = /\/api\/shares\/[^/]+\/finalize$/

interface Pending {
  shareId: string
  ownerToken: string
}

/** The upload this page remembers (to resume it), once it has been created. */
async function pendingOf(page: Page): Promise<Pending> {
  let pending: Pending | null = null
  await waitUntilAsync('the upload to be created', async () => {
    pending = await page.evaluate(() => JSON.parse(localStorage.getItem('sharesync.pending-upload') ?? 'null') as Pending | null)
    return pending !== null
  })
  return pending!
}

async function waitUntilAsync(what: string, check: () => Promise<boolean>, timeout = 60_000) {
  const deadline = Date.now() + timeout
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** Speed text as shown ("12.3 MB/s") in bytes per second; null for anything else ("—"). */
function speedOf(text: string): number | null {
  const units: Record<string, number> = { byte: 1, kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }
  const m = /^([\d.]+) (byte|kB|MB|GB)\/s$/.exec(text)
  return m ? Number(m[1]) * units[m[2]!]! : null
}

/** The page's speed is the bytes sent over this moving window (the upload engine's own). */
const SPEED_WINDOW_MS = 5000

/** Records in the page each speed text shown, with the time (ms since epoch) it appeared. */
async function recordSpeeds(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __speeds?: { t: number; text: string }[] }
    const speeds: { t: number; text: string }[] = (w.__speeds = [])
    new MutationObserver(() => {
      const text = document.querySelector('[data-testid="upload-speed"]')?.textContent
      if (text != null && speeds[speeds.length - 1]?.text !== text) speeds.push({ t: Date.now(), text })
    }).observe(document.body, { subtree: true, childList: true, characterData: true })
  })
}

async function readSpeeds(page: Page): Promise<{ t: number; bytesPerSecond: number }[]> {
  const speeds = await page.evaluate(() => (window as unknown as { __speeds?: { t: number; text: string }[] }).__speeds ?? [])
  return speeds.flatMap(({ t, text }) => {
    const bytesPerSecond = speedOf(text)
    return bytesPerSecond === null ? [] : [{ t, bytesPerSecond }]
  })
}

/**
 * When each part PUT was sending, from the browser's timing of it (ms since epoch): from the moment
 * it began to send the request until the first byte of the answer (the server answers once it holds
 * the whole part). `bytes` is the part's size, or null while it is not known how much went out (a
 * PUT that failed, or whose end was not seen).
 */
interface Sending {
  start: number
  end: number
  bytes: number | null
}

function watchSendings(page: Page, partSize: (n: number) => number): () => Sending[] {
  const sendings = new Map<Request, Sending>()
  page.on('request', (req) => {
    if (partOf(req) !== null) sendings.set(req, { start: Date.now(), end: Infinity, bytes: null })
  })
  page.on('requestfinished', (req) => {
    const n = partOf(req)
    if (n === null) return
    const { startTime, requestStart, responseStart } = req.timing()
    const end = responseStart >= 0 ? startTime + responseStart : Date.now()
    sendings.set(req, { start: startTime + Math.max(0, requestStart), end, bytes: partSize(n) })
  })
  page.on('requestfailed', (req) => {
    if (partOf(req) === null) return
    sendings.set(req, { start: Math.min(req.timing().startTime, sendings.get(req)?.start ?? Infinity), end: Date.now(), bytes: null })
  })
  return () => [...sendings.values()]
}

/** Bytes sent between `from` and `to`, each PUT's bytes spread evenly over its sending time. */
function sentBetween(sendings: Sending[], from: number, to: number): number {
  return sendings.reduce((sum, s) => {
    if (s.bytes === null) return sum
    const overlap = Math.min(to, s.end) - Math.max(from, s.start)
    return overlap > 0 ? sum + (s.bytes * overlap) / Math.max(1, s.end - s.start) : sum
  }, 0)
}

let browser: Browser
let files: ReturnType<typeof tempDir>
const contexts: BrowserContext[] = []

const partOf = (req: Request) => {
  const m = req.method() === 'PUT' ? PART_URL.exec(req.url()) : null
  return m ? Number(m[2]) : null
}
/** The multipart upload (one per file) a part PUT belongs to. */
const uploadOf = (req: Request) => PART_URL.exec(req.url())?.[1] ?? null

/**
 * Counts part PUTs per part number: sent (issued by the page, including those our "network cut"
 * aborts before they leave the browser) and stored (answered 2xx).
 */
function watchParts(page: Page) {
  const sent = new Map<number, number>()
  const stored = new Map<number, number>()
  /** `<upload>/<part number>` of each part answered 2xx: tells the files of a share apart */
  const storedIn = new Set<string>()
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
    if (res && res.status() >= 200 && res.status() < 300) {
      stored.set(n, (stored.get(n) ?? 0) + 1)
      storedIn.add(`${uploadOf(req)}/${n}`)
    }
    inFlight.delete(req)
  })
  return { sent, stored, storedIn, inFlight, history }
}

async function newContext(): Promise<BrowserContext> {
  // No service worker: every part request is seen (and routed) by this page alone.
  const context = await browser.newContext({ acceptDownloads: true, serviceWorkers: 'block' })
  contexts.push(context)
  leaveWhenAsked(context)
  return context
}

/**
 * The SHA-256 of a file of the link, fetched as curl would: these tests are about the upload, and
 * the page's own download (through Chromium, the costly part of a test) is cloud.e2e's.
 */
async function downloadHash(link: string, fileName: string): Promise<string> {
  const { origin, pathname } = new URL(link)
  const id = pathname.split('/').pop()!
  const meta = (await (await fetch(`${origin}/api/shares/${id}`)).json()) as { files?: { id: string; name: string }[] }
  const file = meta.files?.find((f) => f.name === fileName)
  if (!file) throw new Error(`no file ${fileName} in ${JSON.stringify(meta)}`)
  const res = await fetch(`${origin}/api/shares/${id}/files/${file.id}/download`)
  expect(res.status).toBe(200)
  const hash = createHash('sha256')
  const reader = res.body!.getReader()
  for (let read = await reader.read(); !read.done; read = await reader.read()) hash.update(read.value)
  return hash.digest('hex')
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
      const size = 64 * MiB + 12345
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

      // The person reloads; the connection comes back once the page has (had it come back before,
      // the old page's retrying workers could send a part the reload then cuts off mid-way), and
      // they pick the same file again.
      parts.history.push('reload')
      await page.reload()
      await page.getByRole('heading', { name: 'Resume upload' }).waitFor()
      connected = true
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

describe('the upload engine in the browser', () => {
  let app: Awaited<ReturnType<typeof startApp>>
  beforeAll(async () => {
    app = await startApp(ENV)
  })
  afterAll(async () => {
    await app?.stop()
  })

  it('every file completed, then a reload before finalize: the page finalizes by itself and the link downloads; the upload state is right at every step', async () => {
    {
      const big = randomFile(files.dir, 'complete-then-reload.bin', 12 * MiB + 3)
      const small = randomFile(files.dir, 'small-too.txt', 2000)
      const page = await (await newContext()).newPage()
      const parts = watchParts(page)
      // Part 3 waits until the state has been checked with two parts stored. This page's finalize
      // never gets an answer (the connection hangs): it cannot slip through before the reload.
      let releasePart3!: () => void
      const part3 = new Promise<void>((r) => (releasePart3 = r))
      // Only the big file has a part 3; the small file's one part is a part 1 too.
      let bigUpload: string | null = null
      let finalizeBlocked = true
      let finalizeAttempts = 0
      await page.route(PART_URL, async (route) => {
        if (partOf(route.request()) === 3) {
          bigUpload = uploadOf(route.request())
          await part3
        }
        return route.continue()
      })
      await page.route(FINALIZE_URL, async (route) => {
        if (!finalizeBlocked) return route.continue()
        finalizeAttempts++
      })
      await chooseFiles(page, app.url, [big, small])
      await submitUpload(page)
      const pending = await pendingOf(page)
      const state = async () => {
        const res = await fetch(`${app.url}/api/shares/${pending.shareId}/upload`, { headers: { 'x-owner-token': pending.ownerToken } })
        expect(res.status).toBe(200)
        return (await res.json()) as { status: string; files: { completed: boolean; parts: { partNumber: number; size: number }[] }[] }
      }

      await waitUntil('parts 1 and 2 of the big file stored', () => parts.storedIn.has(`${bigUpload}/1`) && parts.storedIn.has(`${bigUpload}/2`))
      const midway = await state()
      expect(midway.status).toBe('uploading')
      expect(midway.files[0]!.completed).toBe(false)
      expect(midway.files[0]!.parts.map((p) => [p.partNumber, p.size])).toEqual([
        [1, PART_SIZE],
        [2, PART_SIZE],
      ])
      releasePart3()

      await waitUntil('a finalize attempt', () => finalizeAttempts >= 1)
      const completed = await state()
      expect(completed).toEqual({
        id: pending.shareId,
        status: 'uploading',
        files: [expect.objectContaining({ completed: true, parts: [] }), expect.objectContaining({ completed: true, parts: [] })],
      })
      // The page does not pretend: its result page (open at once, as the link is served directly
      // too) does not call the cloud copy stored, nor does the server, while it is not finalized.
      expect(await page.getByTestId('cloud-copy').getAttribute('data-state')).toBe('uploading')
      expect(await page.getByRole('heading', { name: 'Done' }).count()).toBe(0)
      const meta = await fetch(`${app.url}/api/shares/${pending.shareId}`)
      expect(meta.status).toBe(200)
      expect(((await meta.json()) as { direct?: { cloud: string } }).direct?.cloud).toBe('uploading')

      expect(finalizeAttempts).toBe(1)
      const sentBeforeReload = [...parts.sent.values()].reduce((a, b) => a + b, 0)
      finalizeBlocked = false
      await page.reload()
      // No file is picked again: the server holds every file complete, so the page only finalizes.
      const link = await waitForResult(page)
      expect(link).toContain(pending.shareId)
      expect((await state()).status).toBe('finalized')
      expect([...parts.sent.values()].reduce((a, b) => a + b, 0)).toBe(sentBeforeReload)
      expect(await downloadHash(link, 'complete-then-reload.bin')).toBe(await sha256File(big))
      expect(await downloadHash(link, 'small-too.txt')).toBe(await sha256File(small))
    }
  })

  it('after a part is refused, no part request is sent any more; Retry (clicked twice) runs one engine and every part reaches the server once', async () => {
    {
      const size = 24 * MiB + 1
      const partCount = Math.ceil(size / PART_SIZE)
      const path = randomFile(files.dir, 'refused-part.bin', size)
      const page = await (await newContext()).newPage()
      const parts = watchParts(page)
      const sending = new Map<number, number>()
      let mostAtOnce = 0
      page.on('request', (req) => {
        const n = partOf(req)
        if (n === null) return
        sending.set(n, (sending.get(n) ?? 0) + 1)
        mostAtOnce = Math.max(mostAtOnce, sending.get(n)!)
      })
      const settled = (req: Request) => {
        const n = partOf(req)
        if (n !== null) sending.set(n, (sending.get(n) ?? 1) - 1)
      }
      page.on('requestfinished', settled)
      page.on('requestfailed', settled)

      let refuse = true
      // What the page itself did, in its own order: each part PUT it sent, and the moment each
      // answer became readable to it (readystatechange DONE comes before the engine's onload). Two
      // streams of Playwright events (requests, responses) could arrive here out of that order.
      await page.addInitScript(`{
        const parts = ${PART_URL}
        const log = (window.__partLog = [])
        const open = XMLHttpRequest.prototype.open
        const send = XMLHttpRequest.prototype.send
        XMLHttpRequest.prototype.open = function (method, url, ...rest) {
          this.__part = method === 'PUT' ? Number(parts.exec(String(url))?.[2] ?? 0) || null : null
          return open.call(this, method, url, ...rest)
        }
        XMLHttpRequest.prototype.send = function (body) {
          const n = this.__part
          if (n) {
            log.push('sent ' + n)
            this.addEventListener('readystatechange', () => this.readyState === 4 && log.push('answered ' + n + ' ' + this.status))
          }
          return send.call(this, body)
        }
      }`)
      const pageLog = () => page.evaluate(() => (window as unknown as { __partLog: string[] }).__partLog.slice())
      const slow = new Set<Promise<unknown>>()
      await page.route(PART_URL, async (route) => {
        const n = partOf(route.request())
        if (refuse && n === 3) {
          return route.fulfill({
            status: 413,
            contentType: 'application/json',
            body: JSON.stringify({ error: { code: 'too_large', message: 'This part may hold at most 1 bytes.' } }),
          })
        }
        // The other parts are slow: still on their way when part 3 is refused.
        if (!refuse) return route.continue()
        const passing = new Promise((r) => setTimeout(r, 1500)).then(() => route.continue().catch(() => undefined))
        slow.add(passing)
        // The page may have aborted the request meanwhile (that is the point).
        return passing
      })
      await chooseFiles(page, app.url, [path])
      await submitUpload(page)
      await page.getByRole('heading', { name: 'Upload interrupted' }).waitFor({ timeout: 30_000 })
      // Had a worker kept going, its part would have passed by now and its next part been sent;
      // the short margin covers that next request's way from the page to this process.
      await Promise.all(slow)
      await page.waitForTimeout(500)
      const log = await pageLog()
      const refusedAt = log.indexOf('answered 3 413')
      expect(refusedAt, log.join('\n')).toBeGreaterThan(0)
      // Once the page could read the refusal, it sent nothing more.
      expect(log.slice(refusedAt).filter((e) => e.startsWith('sent')), log.join('\n')).toEqual([])
      expect([...sending.values()].every((v) => v === 0)).toBe(true)

      refuse = false
      await page.getByRole('button', { name: 'Retry' }).dblclick()
      const link = await waitForResult(page)
      for (let n = 1; n <= partCount; n++) expect(parts.stored.get(n) ?? 0, `part ${n} stored\n${parts.history.join('\n')}`).toBe(1)
      // One engine: never two PUTs of the same part at once.
      expect(mostAtOnce).toBe(1)
      expect(await downloadHash(link, 'refused-part.bin')).toBe(await sha256File(path))
    }
  })

  it('after a resume at about half, the speed shown stays within 2× of the rate the page really sends at (resumed bytes are not speed), offline shows "—", and the shown and announced percentages agree', async () => {
    {
      const size = 64 * MiB
      const partCount = Math.ceil(size / PART_SIZE)
      const path = randomFile(files.dir, 'speed-after-resume.bin', size)
      const context = await newContext()
      const page = await context.newPage()
      const parts = watchParts(page)
      const sendings = watchSendings(page, (n) => Math.min(PART_SIZE, size - (n - 1) * PART_SIZE))
      // Parts 1 to 6 get through (30 of 64 MiB, 47 %); from part 7 on the connection to storage is cut.
      await page.route(PART_URL, async (route) => {
        if ((partOf(route.request()) ?? 0) > 6) return route.abort('internetdisconnected')
        return route.continue()
      })
      await chooseFiles(page, app.url, [path])
      await submitUpload(page)
      await page.getByRole('heading', { name: /Connection lost/ }).waitFor({ timeout: 30_000 })
      await waitUntil('parts 1 to 6 stored', () => parts.stored.size === 6)
      expect([...parts.stored.keys()].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6])

      // The connection comes back once the page has reloaded: before, the old page's retrying workers
      // could still send the parts that are to be resumed.
      await page.reload()
      await page.getByRole('heading', { name: 'Resume upload' }).waitFor()
      await page.unroute(PART_URL)
      // The rest goes at most at a known rate: 8 MiB/s.
      const rate = 8 * MiB
      const cdp = await context.newCDPSession(page)
      await cdp.send('Network.enable')
      const conditions = (offline: boolean) =>
        cdp.send('Network.emulateNetworkConditions', { offline, latency: 0, downloadThroughput: -1, uploadThroughput: rate })
      await conditions(false)
      await recordSpeeds(page)
      // Each stretch of sending starts with the first part PUT after it (the page's speed starts there too).
      const stretches = [Date.now()]
      await page.getByTestId('resume-input').setInputFiles(path)

      // The percentage on screen is the one announced (one live element) and the bar's value, read
      // together (the page renders several times a second).
      for (let i = 0; i < 5; i++) {
        await page.waitForTimeout(300)
        const { text, live, value } = await page.evaluate(() => {
          const percent = document.querySelector('[data-testid="upload-percent"]')
          const bar = document.querySelector('[role="progressbar"][aria-label="Total upload progress"]')
          return { text: percent?.textContent ?? '', live: percent?.getAttribute('aria-live'), value: bar?.getAttribute('aria-valuenow') }
        })
        expect(live).toBe('polite')
        expect(Number(/(\d+)\s*%/.exec(text)?.[1]), text).toBe(Number(value))
      }

      // Cut while parts are on their way, once the server holds 10 of them.
      const pending = await pendingOf(page)
      await waitUntilAsync('10 parts on the server', async () => {
        const res = await fetch(`${app.url}/api/shares/${pending.shareId}/upload`, { headers: { 'x-owner-token': pending.ownerToken } })
        const state = (await res.json()) as { files: { completed: boolean; parts: unknown[] }[] }
        return !state.files[0]!.completed && state.files[0]!.parts.length >= 10
      })
      await conditions(true)
      await page.getByRole('heading', { name: /Offline/ }).waitFor({ timeout: 15_000 })
      await expect.poll(() => page.getByTestId('upload-speed').textContent()).toBe('—')
      await expect.poll(() => page.getByTestId('upload-eta').textContent()).toBe('—')
      stretches.push(Date.now())
      await conditions(false)
      const link = await waitForResult(page)
      for (let n = 1; n <= partCount; n++) expect(parts.stored.get(n) ?? 0, `part ${n} stored`).toBeLessThanOrEqual(1)

      // Each speed shown is compared with the bytes the page really sent over the same moving window
      // (the five seconds before it was shown, within its stretch of sending), from the browser's own
      // timing of each part PUT. Windows that a failed PUT overlaps (its bytes unknown) are left out.
      const shown = await readSpeeds(page)
      // The old page's PUTs ended with it (some without an end the browser reported).
      const sent = sendings().filter((s) => s.start >= stretches[0]!)
      const starts = stretches.map((after) => Math.min(...sent.filter((s) => s.start >= after).map((s) => s.start)))
      const compared: string[] = []
      for (const { t, bytesPerSecond } of shown) {
        expect(bytesPerSecond, 'never above what the link allows').toBeLessThanOrEqual(2 * rate)
        const from = Math.max(t - SPEED_WINDOW_MS, ...starts.filter((s) => s <= t))
        if (t - from < 1000 || sent.some((s) => s.bytes === null && s.end > from && s.start < t)) continue
        const real = sentBetween(sent, from, t) / ((t - from) / 1000)
        compared.push(`${(bytesPerSecond / MiB).toFixed(2)} shown / ${(real / MiB).toFixed(2)} real MiB/s at +${t - starts[0]!} ms`)
        expect(bytesPerSecond / real, compared.join('\n')).toBeGreaterThanOrEqual(0.5)
        expect(bytesPerSecond / real, compared.join('\n')).toBeLessThanOrEqual(2)
      }
      // Not vacuous: speeds were shown and compared with what was really sent.
      expect(compared.length, shown.map((s) => `${s.t - starts[0]!}: ${s.bytesPerSecond}`).join('\n')).toBeGreaterThanOrEqual(3)
      expect(await downloadHash(link, 'speed-after-resume.bin')).toBe(await sha256File(path))
    }
  })

  it('a part whose PUT stops sending is given up after the stall timeout and sent again; every other part goes once and the file arrives whole', async () => {
    const size = 12 * MiB + 5
    const path = randomFile(files.dir, 'stalled-part.bin', size)
    const context = await newContext()
    // The page's clock runs as usual, and can jump ahead: thirty silent seconds without waiting them.
    await context.clock.install()
    const page = await context.newPage()
    const parts = watchParts(page)
    let hung: Route | null = null
    await page.route(PART_URL, async (route) => {
      // Part 2's first PUT never gets an answer: the connection hangs.
      if (partOf(route.request()) === 2 && hung === null) {
        hung = route
        return
      }
      return route.continue()
    })
    await chooseFiles(page, app.url, [path])
    await submitUpload(page)
    // The other parts are stored first, so the jump below can only stall part 2.
    await waitUntil('parts 1 and 3 stored, part 2 hanging', () => hung !== null && parts.stored.has(1) && parts.stored.has(3))
    expect(parts.sent.get(2)).toBe(1)
    await page.clock.fastForward('00:31')
    const link = await waitForResult(page)
    expect([parts.sent.get(1), parts.sent.get(2), parts.sent.get(3)], parts.history.join('\n')).toEqual([1, 2, 1])
    expect(parts.stored.get(2)).toBe(1)
    expect(await downloadHash(link, 'stalled-part.bin')).toBe(await sha256File(path))
  })

  it('a 429 with Retry-After pauses every worker until it has passed, a 503 is retried, and each part reaches the server once', async () => {
    const size = 30 * MiB
    const partCount = Math.ceil(size / PART_SIZE)
    const workers = 4 // the page's parts in flight at once
    const path = randomFile(files.dir, 'rate-limited.bin', size)
    const page = await (await newContext()).newPage()
    const parts = watchParts(page)
    const answered = new Set<number>()
    const fault = (status: number, retryAfter?: string) => ({
      status,
      contentType: 'application/json',
      headers: retryAfter ? { 'retry-after': retryAfter } : ({} as Record<string, string>),
      body: JSON.stringify({ error: { code: status === 429 ? 'rate_limited' : 'server_busy', message: 'Not now.' } }),
    })
    // Every worker is busy with one of the first parts when the 429 arrives, and stays busy until
    // the page has read it: no part can be "already on its way" after it, each later PUT is one
    // the page started after the 429.
    let firstPartsSent!: () => void
    const allSent = new Promise<void>((resolve) => (firstPartsSent = resolve))
    let pageSlowedDown!: () => void
    const slowedDown = new Promise<void>((resolve) => (pageSlowedDown = resolve))
    await page.route(PART_URL, async (route) => {
      const n = partOf(route.request())!
      const first = !answered.has(n)
      answered.add(n)
      if (first && n <= workers && [...answered].filter((p) => p <= workers).length === workers) firstPartsSent()
      if (n === 2 && first) {
        await allSent
        return route.fulfill(fault(429, '2'))
      }
      if (first && n <= workers) await slowedDown
      if (n === 4 && first) return route.fulfill(fault(503))
      return route.continue()
    })
    await chooseFiles(page, app.url, [path])
    await submitUpload(page)
    await page.getByRole('heading', { name: /asked to slow down/ }).waitFor({ timeout: 15_000 })
    pageSlowedDown()
    const link = await waitForResult(page)

    // When the page sent each part and when the 429 reached it, in the page's own clock (its
    // resource timing), not when this process heard of them: the order cannot shift under load.
    const timings = await page.evaluate((source) => {
      const part = new RegExp(source)
      return performance
        .getEntriesByType('resource')
        .flatMap((e) => (e instanceof PerformanceResourceTiming && e.initiatorType === 'xmlhttprequest' && part.test(e.name) ? [{ n: Number(part.exec(e.name)![2]), start: e.startTime, end: e.responseEnd }] : []))
        .sort((a, b) => a.start - b.start)
    }, PART_URL.source)
    const limited = timings.find((t) => t.n === 2)!
    const later = timings.filter((t, i) => t.n > workers || timings.findIndex((o) => o.n === t.n) !== i)
    expect(timings).toHaveLength(partCount + 2) // parts 2 and 4 twice
    expect(later.map((t) => t.n).sort()).toEqual([2, 4, 5, 6])
    process.stdout.write(`parts started after the 429: ${later.map((t) => `${t.n} +${Math.round(t.start - limited.end)} ms`).join(', ')}\n`)
    // Past the first parts, no PUT starts before the two seconds asked for have passed since the
    // page received the 429 (a few ms allowed for rounding between Date.now and the page's timer).
    for (const t of later) expect(t.start - limited.end, `part ${t.n}\n${parts.history.join('\n')}`).toBeGreaterThanOrEqual(2000 - 20)
    for (let n = 1; n <= partCount; n++) expect(parts.stored.get(n) ?? 0, `part ${n} stored\n${parts.history.join('\n')}`).toBe(1)
    expect(parts.sent.get(2)).toBe(2)
    expect(parts.sent.get(4)).toBe(2)
    expect(await downloadHash(link, 'rate-limited.bin')).toBe(await sha256File(path))
  })
})
