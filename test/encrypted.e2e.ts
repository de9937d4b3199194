/**
 * End-to-end encrypted links in real headless Chromium, on disk + PGlite and on S3 (s3rver) +
 * PostgreSQL: what the server stores (read straight from its directories), what the recipient gets,
 * a reload in the middle of an encrypted upload, tampered blobs, a wrong key, and password-wrapped
 * keys. The sender and each recipient are separate browser contexts, as separate people would be.
 */
import { randomBytes } from 'node:crypto'
import { closeSync, openSync, readdirSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page, Request } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { formatBytes } from '../frontend/src/lib/format'
import { browserFetch, CookieJar, signInFlow, startOAuthServer, type LocalOAuth } from '../backend/test/support/oauth'
import { createDatabase, runSql, startPostgres, startS3 } from '../backend/test/support/services'
import { startApp, type AppProcess } from './support/app-server'
import { launchBrowser } from './support/browser'
import { chooseFiles, createLink, leaveResult, submitUpload } from './support/cloud-ui'
import { sha256File, tempDir } from './support/files'
import { decodeQr, leaveWhenAsked } from './support/pages'

const MiB = 1024 * 1024
const CHUNK = 65_536
const RUN = randomBytes(4).toString('hex')
/** Plaintext that is easy to look for in stored bytes. */
const MARKER = `E2E-PLAINTEXT-MARKER-${RUN}`
const LAN_HOST = 'sharesync.lan'
const ENV = { PART_SIZE: '5MiB', UPLOAD_RATE_LIMIT: '1000/1h', SHARE_CREATE_RATE_LIMIT: '1000/1h' }
/** Encrypted size of a plaintext of `n` bytes (docs/encryption.md): 16-byte header, 16-byte tag per 64 KiB chunk. */
const encryptedSize = (n: number) => 16 + n + 16 * (n <= CHUNK - 32 ? 1 : 1 + Math.ceil((n - (CHUNK - 32)) / (CHUNK - 16)))

let browser: Browser
let files: ReturnType<typeof tempDir>
let pg: Awaited<ReturnType<typeof startPostgres>>
let s3: Awaited<ReturnType<typeof startS3>>
const contexts: BrowserContext[] = []

beforeAll(async () => {
  files = tempDir()
  // The resolver rule reaches the app under a name that is not localhost: a plain-http origin.
  ;[browser, pg, s3] = await Promise.all([launchBrowser([`--host-resolver-rules=MAP ${LAN_HOST} 127.0.0.1`]), startPostgres(), startS3()])
})

afterAll(async () => {
  await Promise.all(contexts.map((c) => c.close().catch(() => undefined)))
  await browser?.close()
  await Promise.all([pg?.stop(), s3?.stop()])
  files?.remove()
})

async function newPage(opts: { serviceWorkers?: 'allow' | 'block'; clipboard?: boolean } = {}): Promise<Page> {
  const context = await browser.newContext({
    acceptDownloads: true,
    serviceWorkers: opts.serviceWorkers ?? 'allow',
    permissions: opts.clipboard ? ['clipboard-read', 'clipboard-write'] : [],
  })
  contexts.push(context)
  leaveWhenAsked(context)
  return context.newPage()
}

/** Everything a page's requests told a server: URLs, headers, and the bodies of the API's JSON requests. */
function wireLog(page: Page): string[] {
  const log: string[] = []
  page.context().on('request', (req) => {
    log.push(req.url(), JSON.stringify(req.headers()))
    if (new URL(req.url()).pathname.startsWith('/api/')) log.push(req.postData() ?? '')
  })
  return log
}

/** Random bytes with the marker every 64 KiB, so that every record's plaintext holds it. */
function markedFile(name: string, size: number): string {
  const path = join(files.dir, name)
  const fd = openSync(path, 'w')
  try {
    for (let at = 0; at < size;) {
      const block = randomBytes(Math.min(MiB, size - at))
      for (let m = 0; m + MARKER.length <= block.length; m += CHUNK) block.write(MARKER, m)
      writeSync(fd, block)
      at += block.length
    }
  } finally {
    closeSync(fd)
  }
  return path
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    const st = statSync(p, { throwIfNoEntry: false })
    if (!st) return []
    return st.isDirectory() ? filesUnder(p) : [p]
  })
}

/** Which of `needles` occur in any file under `dir` (read as bytes, as they are on disk). */
function foundIn(dir: string, needles: string[]): Set<string> {
  const found = new Set<string>()
  for (const path of filesUnder(dir)) {
    const bytes = readFileSync(path)
    for (const n of needles) if (!found.has(n) && bytes.includes(n)) found.add(n)
  }
  return found
}

/** Home → files → "End-to-end encryption" on → upload; returns the whole link shown (key included). */
async function createEncryptedLink(page: Page, baseUrl: string, paths: string[], opts: { password?: string } = {}): Promise<string> {
  await chooseFiles(page, baseUrl, paths, opts)
  await page.getByLabel('End-to-end encryption').check()
  await submitUpload(page)
  return encryptedResult(page)
}

async function encryptedResult(page: Page): Promise<string> {
  await page.waitForURL(/\/links\//, { timeout: 180_000 })
  await page.getByRole('heading', { name: 'Your link is ready' }).waitFor()
  // After a reload the page reads the key from IndexedDB: the link is complete once it carries it.
  const whole = /\/s\/[A-Za-z0-9_-]{22,}#[A-Za-z0-9_-]{22}(\.p)?$/
  await expect.poll(() => page.getByTestId('share-url').inputValue()).toMatch(whole)
  // The result page opens at once: the link is whole in storage once its cloud copy is (a page
  // opened later, without the files, has no upload to wait for).
  await page.locator('[data-testid=cloud-copy]:not([data-state=uploading])').waitFor({ timeout: 180_000 })
  return page.getByTestId('share-url').inputValue()
}

/**
 * An encrypted link served by its cloud copy only: the sender leaves the link's page once the copy
 * is stored (else the page would serve the link directly, and the stored blob would not be read).
 */
async function cloudOnlyLink(baseUrl: string, paths: string[], opts: { password?: string } = {}): Promise<string> {
  const sender = await newPage()
  const link = await createEncryptedLink(sender, baseUrl, paths, opts)
  await leaveResult(sender)
  return link
}

/** Downloads `name` from an open share page and returns the saved file's SHA-256 and suggested name. */
async function download(page: Page, name: string): Promise<{ sha256: string; suggested: string }> {
  const [dl] = await Promise.all([
    page.waitForEvent('download', { timeout: 120_000 }),
    page.getByRole('button', { name: `Download ${name}` }).click(),
  ])
  const saved = join(files.dir, `saved-${Date.now()}-${Math.random().toString(36).slice(2)}`)
  await dl.saveAs(saved)
  return { sha256: await sha256File(saved), suggested: dl.suggestedFilename() }
}

/**
 * The most memory `page` held at once while `work` ran: its JS heap plus the ArrayBuffers it holds
 * (Chromium's own count, CDP Runtime.getHeapUsage), and the same for each of its dedicated workers
 * alive at that moment (the sender seals its parts in one). What counts is what the page keeps, not
 * what it has not yet freed: a sample whose total is over `limit` is taken again right after a full
 * garbage collection in the page and each worker. A collection only frees, so a sample under the
 * limit before one is under it after one too: `peak < limit` holds exactly when every sample taken
 * after a collection would be under it, without collecting (and pausing the page) on every sample.
 */
async function peakMemory<T>(page: Page, work: Promise<T>, limit: number): Promise<{ result: T; peak: number; samples: number; workerSamples: number; collections: number }> {
  const cdp = await page.context().newCDPSession(page)
  // The page's workers, reached through the page's session (CDP sessions per worker target).
  const workers = new Set<string>()
  const replies = new Map<number, (result: unknown) => void>()
  let nextId = 1
  cdp.on('Target.attachedToTarget', (e) => {
    if (e.targetInfo.type === 'worker') workers.add(e.sessionId)
  })
  cdp.on('Target.detachedFromTarget', (e) => {
    if (e.sessionId) workers.delete(e.sessionId)
  })
  cdp.on('Target.receivedMessageFromTarget', (e) => {
    const msg = JSON.parse(e.message) as { id?: number; result?: unknown; error?: unknown }
    if (msg.id !== undefined) replies.get(msg.id)?.(msg.error ? null : msg.result)
  })
  const inWorker = (sessionId: string, method: string) =>
    new Promise<unknown>((resolve) => {
      const id = nextId++
      replies.set(id, (result) => {
        replies.delete(id)
        resolve(result)
      })
      // A worker that ends meanwhile never answers: its sample is skipped.
      setTimeout(() => replies.get(id)?.(null), 5_000)
      cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method }) }).catch(() => replies.get(id)?.(null))
    })
  await cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false })
  let done = false
  let peak = 0
  let samples = 0
  let workerSamples = 0
  let collections = 0
  /** The page's and its workers' memory now; `collect`: right after a full collection in each. */
  const total = async (collect: boolean): Promise<{ bytes: number; workers: number }> => {
    if (collect) await cdp.send('HeapProfiler.collectGarbage')
    const usage = await cdp.send('Runtime.getHeapUsage')
    let bytes = usage.usedSize + usage.backingStorageSize
    let read = 0
    for (const sessionId of [...workers]) {
      if (collect) await inWorker(sessionId, 'HeapProfiler.collectGarbage')
      const w = (await inWorker(sessionId, 'Runtime.getHeapUsage')) as { usedSize: number; backingStorageSize: number } | null
      if (!w) continue
      bytes += w.usedSize + w.backingStorageSize
      read++
    }
    return { bytes, workers: read }
  }
  const sampling = (async () => {
    while (!done) {
      let sample = await total(false)
      if (sample.bytes >= limit) {
        sample = await total(true)
        collections++
      }
      peak = Math.max(peak, sample.bytes)
      workerSamples += sample.workers
      samples++
      // A sampling period, not a wait for anything.
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  })()
  try {
    const result = await work
    return { result, peak, samples, workerSamples, collections }
  } finally {
    done = true
    await sampling.catch(() => undefined)
    await cdp.detach().catch(() => undefined)
  }
}

/**
 * Clicks Download and expects it to fail: a clear message on the page, and no complete file (the
 * browser's download, if one started, fails).
 */
async function expectRefused(page: Page, name: string, message: RegExp): Promise<void> {
  const started: Promise<string | null>[] = []
  const onDownload = (d: { failure(): Promise<string | null> }) => started.push(d.failure())
  page.on('download', onDownload)
  await page.getByRole('button', { name: `Download ${name}` }).click()
  await expect.poll(() => page.getByRole('alert').textContent()).toMatch(message)
  page.off('download', onDownload)
  for (const failure of await Promise.all(started)) expect(failure).not.toBeNull()
}

interface Stack {
  name: string
  start(): Promise<{ app: AppProcess; blobs: string; dbDir: string; flushDb(): Promise<void> }>
}

const STACKS: Stack[] = [
  {
    name: 'disk store + PGlite',
    async start() {
      const app = await startApp(ENV)
      return { app, blobs: join(app.dataDir, 'blobs'), dbDir: join(app.dataDir, 'db'), flushDb: async () => undefined }
    },
  },
  {
    name: 'S3 (s3rver) + PostgreSQL',
    async start() {
      const url = await createDatabase(pg.url, `e2e_${RUN}`)
      const app = await startApp({ ...ENV, ...s3.env, DATABASE_URL: url })
      return { app, blobs: s3.dir, dbDir: pg.dir, flushDb: async () => void (await runSql(url, 'CHECKPOINT')) }
    },
  },
]

describe.each(STACKS)('end-to-end encrypted links on $name', (stack) => {
  let app: AppProcess
  let blobs: string
  let dbDir: string
  let flushDb: () => Promise<void>

  beforeAll(async () => {
    ;({ app, blobs, dbDir, flushDb } = await stack.start())
  })
  afterAll(() => app?.stop())

  it('three files (one 100 MB): storage and database hold no plaintext and no name; the recipient gets identical bytes with the original names', async () => {
    const names = [`Quarterly plan ${RUN}.pdf`, `holiday-${RUN}-é.jpg`, `big-${RUN}.bin`]
    const sizes = [700_000, 3 * MiB + 17, 100 * MiB]
    const paths = names.map((n, i) => markedFile(n, sizes[i]!))
    const hashes = await Promise.all(paths.map((p) => sha256File(p)))
    // A plain link on the same server: the scans below must find its name and bytes (they can see).
    const control = `control-${RUN}.txt`
    const controlPath = join(files.dir, control)
    writeFileSync(controlPath, `CONTROL-CONTENT-${RUN}`)
    await createLink(await newPage(), app.url, [controlPath])

    const sender = await newPage({ clipboard: true })
    const sent = wireLog(sender)
    // The third part sent is cut once on its way to storage: the page sends it again (same bytes).
    let puts = 0
    let partsStored = 0
    sender.on('requestfinished', async (req: Request) => {
      if (req.method() === 'PUT' && ((await req.response())?.status() ?? 0) < 300) partsStored++
    })
    await sender.route(
      (url) => !url.pathname.startsWith('/api/shares') && !url.pathname.startsWith('/assets'),
      (route) => (route.request().method() === 'PUT' && ++puts === 3 ? route.abort('connectionreset') : route.continue()),
    )
    // The sender's page reads and encrypts a few parts at a time, never the 100 MB file whole.
    const senderLimit = 64 * MiB
    const { result: link, peak: senderPeak, samples: senderSamples, workerSamples, collections: senderCollections } = await peakMemory(sender, createEncryptedLink(sender, app.url, paths), senderLimit)
    process.stdout.write(`sender: peak ${(senderPeak / MiB).toFixed(1)} MiB, ${senderSamples} samples, ${senderCollections} with a collection\n`)
    expect(senderSamples).toBeGreaterThan(2)
    // The parts are sealed in a worker: its memory is part of the peak.
    expect(workerSamples).toBeGreaterThan(0)
    expect(senderPeak).toBeLessThan(senderLimit)
    const parts = sizes.map((n) => Math.ceil(encryptedSize(n) / (5 * MiB))).reduce((a, b) => a + b)
    expect(puts).toBe(parts + 1)
    await expect.poll(() => partsStored).toBe(parts)
    // The QR code and the copy button carry the whole link, key included.
    await sender.getByTestId('qr-code').waitFor()
    expect(await decodeQr(sender.getByTestId('qr-code'))).toBe(link)
    await sender.getByRole('button', { name: 'Copy link' }).click()
    await sender.getByRole('button', { name: 'Copied!' }).waitFor()
    expect(await sender.evaluate(() => navigator.clipboard.readText())).toBe(link)
    // The recipient gets the cloud copy: the sender has left the link's page.
    await leaveResult(sender)

    const recipient = await newPage()
    const received = wireLog(recipient)
    await recipient.goto(link)
    await expect.poll(() => recipient.getByTestId('file-name').allTextContents()).toEqual(names)
    await expect.poll(() => recipient.getByTestId('encrypted-badge').textContent()).toBe('End-to-end encrypted')
    // The service worker fetches and decrypts: the page itself fetches no ciphertext, yet shows the progress.
    let pageFetched = 0
    recipient.on('response', (r) => void (r.request().resourceType() === 'fetch' && Number(r.headers()['content-length']) > 100 * MiB && pageFetched++))
    await recipient.evaluate(() => {
      const seen: number[] = ((window as unknown as { percents: number[] }).percents = [])
      new MutationObserver(() => {
        const big = document.querySelectorAll('[data-testid=file-status]')[2]
        seen.push(Number(/decrypting (\d+) %/.exec(big?.textContent ?? '')?.[1] ?? -1))
      }).observe(document.body, { subtree: true, childList: true, characterData: true })
    })
    for (const [i, name] of names.entries()) {
      if (i < 2) {
        const got = await download(recipient, name)
        expect(got.suggested).toBe(name)
        expect(got.sha256).toBe(hashes[i])
        continue
      }
      // The 100 MB file streams through the service worker: the page never holds more than a few record batches.
      const limit = 48 * MiB
      const { result: got, peak, samples, collections } = await peakMemory(recipient, download(recipient, name), limit)
      process.stdout.write(`recipient: peak ${(peak / MiB).toFixed(1)} MiB, ${samples} samples, ${collections} with a collection\n`)
      expect(got.suggested).toBe(name)
      expect(got.sha256).toBe(hashes[i])
      expect(samples).toBeGreaterThan(2)
      expect(peak).toBeLessThan(limit)
      expect(pageFetched).toBe(0)
      const percents = await recipient.evaluate(() => (window as unknown as { percents: number[] }).percents)
      expect(percents.some((p) => p > 0 && p < 100)).toBe(true)
    }

    await flushDb()
    const stored = foundIn(blobs, [MARKER, `CONTROL-CONTENT-${RUN}`])
    expect(stored.has(`CONTROL-CONTENT-${RUN}`)).toBe(true)
    expect(stored.has(MARKER)).toBe(false)
    const inDb = foundIn(dbDir, [control, ...names.map((n) => n.slice(0, 16)), RUN + '.bin', 'image/jpeg'])
    expect(inDb.has(control)).toBe(true)
    expect([...inDb].filter((n) => n !== control)).toEqual([])
    for (const n of names) expect(app.output()).not.toContain(n)
    // The key (the fragment) never left either browser, and no request named a file (the download
    // stream's URL included): not in a URL, a header or an API request's body.
    const key = link.split('#')[1]!
    const wire = [...sent, ...received].join('\n')
    expect(wire).toContain(link.split('#')[0]!.split('/s/')[1]!)
    for (const secret of [key, ...names, ...names.map(encodeURIComponent)]) expect(wire).not.toContain(secret)
    expect(app.output()).not.toContain(key)
  })

  it('the upload page reloaded at about 50 % resumes the encrypted upload from the stored parts, and the result decrypts', async () => {
    const size = 40 * MiB + 4321
    const name = `resume-${RUN}.bin`
    const path = markedFile(name, size)
    const expected = await sha256File(path)
    const partCount = Math.ceil(encryptedSize(size) / (5 * MiB))

    const page = await newPage({ serviceWorkers: 'block' })
    // The "network" to storage lets half of the parts through, then is cut until the page is
    // reloaded (the old page's retries never get through); the person reloads and picks the file.
    let allowed = Math.floor(partCount / 2)
    let connected = false
    let stored = 0
    page.on('requestfinished', async (req: Request) => {
      if (req.method() === 'PUT' && ((await req.response())?.status() ?? 0) < 300) stored++
    })
    await page.route(
      (url) => !url.pathname.startsWith('/api/shares') && !url.pathname.startsWith('/assets'),
      async (route) => {
        if (route.request().method() !== 'PUT' || connected) return route.continue()
        if (allowed > 0) {
          allowed--
          return route.continue()
        }
        await route.abort('internetdisconnected')
      },
    )
    await chooseFiles(page, app.url, [path])
    await page.getByLabel('End-to-end encryption').check()
    await submitUpload(page)
    await expect.poll(() => stored, { timeout: 60_000 }).toBe(Math.floor(partCount / 2))
    await page.reload()
    await page.getByRole('heading', { name: 'Resume upload' }).waitFor()
    connected = true
    await page.getByTestId('resume-input').setInputFiles([path])
    const link = await encryptedResult(page)
    // Parts stored before the reload were not sent again.
    expect(stored).toBeLessThanOrEqual(partCount + 1)

    const recipient = await newPage()
    await recipient.goto(link)
    expect((await download(recipient, name)).sha256).toBe(expected)
  })

  it('a flipped byte, a truncated blob, two swapped records and a wrong key are each refused with a clear message and no complete file', async () => {
    const size = 3 * MiB + 12_345
    const name = `tamper-${RUN}.bin`
    const path = markedFile(name, size)
    const link = await cloudOnlyLink(app.url, [path])
    const blob = filesUnder(blobs).find((p) => statSync(p).size === encryptedSize(size) && !p.endsWith('.json'))
    expect(blob, 'the stored blob').toBeDefined()
    const original = readFileSync(blob!)
    const recipient = await newPage()
    const attempt = async (bytes: Buffer, message: RegExp) => {
      writeFileSync(blob!, bytes)
      await recipient.goto(link)
      await recipient.getByRole('button', { name: `Download ${name}` }).waitFor()
      await expectRefused(recipient, name, message)
    }
    try {
      const flipped = Buffer.from(original)
      flipped[5 * CHUNK + 100]! ^= 0x40
      await attempt(flipped, /changed after it was encrypted/)
      await attempt(original.subarray(0, original.length - CHUNK - 1000), /incomplete|interrupted/)
      const swapped = Buffer.from(original)
      original.copy(swapped, 2 * CHUNK, 3 * CHUNK, 4 * CHUNK)
      original.copy(swapped, 3 * CHUNK, 2 * CHUNK, 3 * CHUNK)
      await attempt(swapped, /changed after it was encrypted/)
    } finally {
      writeFileSync(blob!, original)
    }
    // A wrong key: one character of the fragment changed. Nothing opens, nothing is offered.
    const [base, key] = link.split('#') as [string, string]
    const wrong = `${base}#${key[0] === 'A' ? 'B' : 'A'}${key.slice(1)}`
    await recipient.goto('about:blank')
    await recipient.goto(wrong)
    await expect.poll(() => recipient.getByRole('alert').textContent()).toMatch(/does not open these files/)
    expect(await recipient.getByRole('button', { name: /^Download/ }).count()).toBe(0)
    // No key at all.
    await recipient.goto('about:blank')
    await recipient.goto(base)
    await expect.poll(() => recipient.getByRole('alert').textContent()).toMatch(/key .* is missing/)
    // The untouched blob still decrypts.
    await recipient.goto('about:blank')
    await recipient.goto(link)
    expect((await download(recipient, name)).sha256).toBe(await sha256File(path))
  })

  // The key's wrapping never reaches storage: proven on the first store only (its KDF runs three
  // times, seconds each).
  if (stack === STACKS[0])
    it('a password-wrapped key: the link alone downloads nothing usable; with the password, identical bytes', async () => {
      const name = `pw-${RUN}.txt`
      const path = markedFile(name, 200_000)
      const password = 'correct horse battery staple'
      const link = await cloudOnlyLink(app.url, [path], { password })
      expect(link).toMatch(/\.p$/)
      const id = /\/s\/([^#]+)#/.exec(link)![1]!

      // Without the password: the server gives no download URL and no names (curl as well as the page).
      const direct = await fetch(`${app.url}/api/shares/${id}/download`, { redirect: 'manual' })
      expect(direct.status).toBe(401)
      const meta = (await (await fetch(`${app.url}/api/shares/${id}`)).json()) as Record<string, unknown>
      expect(meta).toEqual({ id, encrypted: true, passwordRequired: true, expiresAt: expect.any(String) })

      const recipient = await newPage()
      await recipient.goto(link)
      await recipient.getByRole('heading', { name: 'Password required' }).waitFor()
      expect(await recipient.getByTestId('file-name').count()).toBe(0)
      await recipient.getByLabel('Password', { exact: true }).fill('wrong password')
      await recipient.getByRole('button', { name: 'Unlock' }).click()
      await expect.poll(() => recipient.getByRole('alert').textContent()).toMatch(/Wrong password/)
      expect(await recipient.getByTestId('file-name').count()).toBe(0)

      await recipient.getByLabel('Password', { exact: true }).fill(password)
      await recipient.getByRole('button', { name: 'Unlock' }).click()
      await expect.poll(() => recipient.getByTestId('file-name').allTextContents()).toEqual([name])
      expect((await download(recipient, name)).sha256).toBe(await sha256File(path))
    })
})

describe('end-to-end encrypted links without a service worker (disk store + PGlite)', () => {
  let app: AppProcess
  beforeAll(async () => {
    app = await startApp(ENV)
  })
  afterAll(() => app?.stop())

  it('on a plain-http LAN address (no WebCrypto, service worker or OPFS) links are encrypted and decrypted by the pure-JS cipher, in memory', async () => {
    const lan = `http://${LAN_HOST}:${app.port}`
    const name = `lan-${RUN}.bin`
    const path = markedFile(name, 2 * MiB + 99)
    const sender = await newPage()
    await sender.goto(`${lan}/`)
    expect(await sender.evaluate(() => ({ secure: window.isSecureContext, subtle: typeof crypto.subtle }))).toEqual({
      secure: false,
      subtle: 'undefined',
    })
    const link = await createEncryptedLink(sender, lan, [path], { password: 'on the lan' })
    expect(link.startsWith(`${lan}/s/`)).toBe(true)

    const recipient = await newPage()
    await recipient.goto(link)
    await recipient.getByLabel('Password', { exact: true }).fill('on the lan')
    await recipient.getByRole('button', { name: 'Unlock' }).click()
    const got = await download(recipient, name)
    expect(got.suggested).toBe(name)
    expect(got.sha256).toBe(await sha256File(path))
  })

  it('a one-time encrypted link of two files: the first visitor gets both, byte-identical, as their one download; the next visitor finds it gone', async () => {
    const names = [`once-a-${RUN}.bin`, `once-b-${RUN}.bin`]
    const paths = [markedFile(names[0]!, 600_000), markedFile(names[1]!, 70_000)]
    const sender = await newPage()
    await chooseFiles(sender, app.url, paths, { maxDownloads: '1' })
    await sender.getByLabel('End-to-end encryption').check()
    await submitUpload(sender)
    const link = await encryptedResult(sender)
    const first = await newPage()
    await first.goto(link)
    for (const [i, name] of names.entries()) expect((await download(first, name)).sha256).toBe(await sha256File(paths[i]!))
    expect(await first.getByTestId('downloads-left').textContent()).toBe('0 downloads left after yours')
    const second = await newPage()
    await second.goto(link)
    await second.getByRole('heading', { name: 'This link has expired or does not exist' }).waitFor()
  })

  it('downloads are counted exactly: a visitor who fetches every file of an encrypted share uses one download, the next visitor another', async () => {
    const names = [`count-a-${RUN}.bin`, `count-b-${RUN}.bin`]
    const paths = [markedFile(names[0]!, 300_000), markedFile(names[1]!, 1000)]
    const sender = await newPage()
    await chooseFiles(sender, app.url, paths, { maxDownloads: '5' })
    await sender.getByLabel('End-to-end encryption').check()
    await submitUpload(sender)
    const link = await encryptedResult(sender)
    const id = /\/s\/([^#]+)#/.exec(link)![1]!
    const left = async () => ((await (await fetch(`${app.url}/api/shares/${id}`)).json()) as { downloadsLeft: number }).downloadsLeft

    const first = await newPage()
    await first.goto(link)
    for (const [i, name] of names.entries()) expect((await download(first, name)).sha256).toBe(await sha256File(paths[i]!))
    expect(await first.getByTestId('downloads-left').textContent()).toBe('4 downloads left after yours')
    expect(await left()).toBe(4)
    // A reload of the same tab keeps this visitor's download: fetching a file again costs nothing more.
    await first.reload()
    await first.getByRole('button', { name: `Download ${names[1]}` }).click()
    await expect.poll(() => first.getByRole('alert').textContent()).toMatch(/already downloaded/)
    expect(await left()).toBe(4)

    const second = await newPage()
    await second.goto(link)
    expect((await download(second, names[1]!)).sha256).toBe(await sha256File(paths[1]!))
    // Polled: CI once read 4 right after the download event (cause not found; the server records the
    // file before its last chunk leaves). The count must arrive; a missing one still fails here.
    await expect.poll(left).toBe(3)
  })

  it('saved through OPFS: the verified file is offered; with a flipped byte nothing is offered at all', async () => {
    const name = `opfs-${RUN}.bin`
    const size = MiB + 5
    const path = markedFile(name, size)
    const link = await cloudOnlyLink(app.url, [path])
    const recipient = await newPage({ serviceWorkers: 'block' })
    await recipient.goto(app.url)
    await recipient.evaluate(() => localStorage.setItem('sharesync.cloud.sink', 'opfs'))
    await recipient.goto(link)
    expect((await download(recipient, name)).sha256).toBe(await sha256File(path))

    const blob = filesUnder(join(app.dataDir, 'blobs')).find((p) => statSync(p).size === encryptedSize(size))!
    const bytes = readFileSync(blob)
    bytes[2 * CHUNK + 7]! ^= 0x01
    writeFileSync(blob, bytes)
    await recipient.goto('about:blank')
    await recipient.goto(link)
    let offered = 0
    recipient.on('download', () => offered++)
    await recipient.getByRole('button', { name: `Download ${name}` }).click()
    await expect.poll(() => recipient.getByRole('alert').textContent()).toMatch(/changed after it was encrypted/)
    expect(offered).toBe(0)
  })
})

describe('signed in: encrypted shares in My shares and the admin dashboard, and the admin encryption settings (disk store + PGlite)', () => {
  let app: AppProcess
  let oauth: LocalOAuth
  const ROOT = { sub: 'e2e-enc-root', email: 'root@example.com', name: 'Root', email_verified: true }
  const jar = new CookieJar()
  beforeAll(async () => {
    oauth = await startOAuthServer()
    app = await startApp({ ...ENV, ...oauth.env, ADMIN_EMAILS: ROOT.email })
    oauth.setUser(ROOT)
    expect((await signInFlow(app.url, jar)).response.status).toBe(302)
  })
  afterAll(async () => {
    await app?.stop()
    await oauth?.stop()
  })

  it('the owner and the admin see it as encrypted, with its file count and size, and no file name anywhere on their pages', async () => {
    const page = await newPage()
    await page.context().addCookies([...jar.cookies].map(([name, value]) => ({ name, value, url: app.url })))
    const names = [`owner-view-${RUN}.pdf`, `owner-view-${RUN}.jpg`]
    const sizes = [2 * MiB, 1000]
    const link = await createEncryptedLink(
      page,
      app.url,
      names.map((n, i) => markedFile(n, sizes[i]!)),
    )
    const id = /\/s\/([^#]+)#/.exec(link)![1]!
    const stored = formatBytes(sizes.reduce((n, s) => n + encryptedSize(s), 0))

    const noNames = async () => {
      const html = await page.content()
      for (const n of names) expect(html).not.toContain(n)
    }
    await page.goto(`${app.url}/me`)
    const card = page.getByRole('listitem').filter({ hasText: 'Encrypted · 2 files' })
    await card.waitFor()
    expect(await card.innerText()).toContain(stored)
    await noNames()

    await page.goto(`${app.url}/admin`)
    await page.getByRole('tab', { name: 'Shares' }).click()
    const row = page.getByTestId('shares-table').locator('tbody tr').filter({ hasText: id })
    await row.waitFor()
    expect(await row.getByTestId('encrypted-share').innerText()).toBe('Encrypted · 2 files')
    expect(await row.innerText()).toContain(stored)
    await noNames()
  })

  it("the admin's encryption settings reach the upload page: on by default, then required (the switch cannot be turned off)", async () => {
    const settingsUrl = `${app.url}/api/admin/settings`
    const put = async (body: unknown) => {
      const res = await browserFetch(jar, settingsUrl, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
      expect(res.status).toBe(200)
    }
    const { settings } = (await (await browserFetch(jar, settingsUrl)).json()) as { settings: Record<string, unknown> }
    const path = markedFile(`settings-${RUN}.txt`, 5000)
    const visitor = await newPage()
    const toggle = visitor.getByLabel('End-to-end encryption')
    try {
      await chooseFiles(visitor, app.url, [path])
      expect(await toggle.isChecked()).toBe(false)
      await put({ ...settings, encryptByDefault: true })
      await chooseFiles(visitor, app.url, [path])
      // The page applies the settings once its public config has arrived: polled, not read once.
      await expect.poll(async () => [await toggle.isChecked(), await toggle.isDisabled()]).toEqual([true, false])
      await put({ ...settings, requireEncryption: true })
      await chooseFiles(visitor, app.url, [path])
      await expect.poll(async () => [await toggle.isChecked(), await toggle.isDisabled()]).toEqual([true, true])
      await submitUpload(visitor)
      expect(await encryptedResult(visitor)).toMatch(/#[A-Za-z0-9_-]{22}$/)
    } finally {
      await put(settings)
    }
  })
})
