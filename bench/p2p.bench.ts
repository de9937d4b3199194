/**
 * P2P benchmark: prints JSON figures, asserts nothing.
 *
 *   pnpm build && pnpm bench:p2p                 # 1 GiB through the engine and a bare channel, 1 000 sockets
 *   BENCH_P2P_SIZE=256MiB pnpm bench:p2p         # a quick run
 *
 * Switches: BENCH_P2P_SIZE (1GiB), BENCH_P2P_ROUNDS (1: engine and bare runs, alternating; medians),
 * BENCH_SOCKETS (1000, in rooms of two), BENCH_SKIP (engine,bare,signaling).
 *
 * (a) the app's transfer engine (the real room page: UI, OPFS/Blob sink, SHA-256 on both sides) between
 *     two Chromium contexts on loopback, in MiB/s from "Accept" to "verified";
 * (b) a bare RTCDataChannel loop (256 KiB chunks, 4 MiB high-water mark, no disk, no hash) in the same
 *     browser and run, and the ratio engine / bare;
 * (c) the receiver's peak JS heap during (a) (CDP Runtime.getHeapUsage, sampled every 200 ms);
 * (d) signaling relay latency (emit -> delivery, p50/p99) with BENCH_SOCKETS sockets in rooms of two
 *     on one instance: one at a time, and in bursts of one signal per room.
 */
import { existsSync } from 'node:fs'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { parseSize } from '../backend/src/config'
import { connectRooms, sleep, type RoomsClient } from '../backend/test/support/rooms-client'
import { startApp, type AppProcess } from '../test/support/app-server'
import { launchBrowser } from '../test/support/browser'
import { randomFile, tempDir } from '../test/support/files'

// Benchmark switches: read here only, like a test's TEST_LOG_LEVEL.
const env = process.env
const SIZE = parseSize(env.BENCH_P2P_SIZE ?? '1GiB') ?? 2 ** 30
const SOCKETS = Number(env.BENCH_SOCKETS ?? 1000)
const ROUNDS = Math.max(1, Number(env.BENCH_P2P_ROUNDS ?? 1))
const SKIP = new Set((env.BENCH_SKIP ?? '').split(',').filter(Boolean))
const CHUNK = 256 * 1024
const ROOT = new URL('../', import.meta.url).pathname
const BARE_LOOP = new URL('./p2p/bare-loop.js', import.meta.url).pathname

const progress = (msg: string) => process.stderr.write(`[bench:p2p] ${msg}\n`)
const mibPerSec = (bytes: number, ms: number) => Math.round((bytes / 2 ** 20 / (ms / 1000)) * 10) / 10
const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10

interface Device {
  context: BrowserContext
  page: Page
}

async function pair(browser: Browser, app: AppProcess): Promise<[Device, Device]> {
  const make = async () => {
    // bypassCSP: the bench's string predicates are evaluated in the page (the app's CSP forbids eval).
    const context = await browser.newContext({ acceptDownloads: true, bypassCSP: true })
    return { context, page: await context.newPage() }
  }
  const a = await make()
  const b = await make()
  await a.page.goto(`${app.url}/p2p`)
  await a.page.getByRole('button', { name: 'Create a room' }).click()
  const link = (await a.page.getByTestId('room-link').textContent())!.trim()
  await b.page.goto(link)
  for (const d of [a, b]) await d.page.locator('[data-testid=peer][data-link=connected]').waitFor({ timeout: 30_000 })
  return [a, b]
}

/** (a) + (c): the app's engine through the real room page. */
async function engineRun(browser: Browser, app: AppProcess, path: string) {
  const [a, b] = await pair(browser, app)
  const cdp = await b.context.newCDPSession(b.page)
  let peakHeap = 0
  let sampling = true
  const sampler = (async () => {
    while (sampling) {
      const { usedSize } = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number }
      peakHeap = Math.max(peakHeap, usedSize)
      await sleep(200)
    }
  })().catch(() => undefined) // the page went away: the run itself reports why
  const heapBefore = ((await cdp.send('Runtime.getHeapUsage')) as { usedSize: number }).usedSize

  await a.page.getByTestId('p2p-file-input').setInputFiles(path)
  await a.page.getByRole('button', { name: 'Send', exact: true }).click()
  const offer = b.page.locator('[data-testid=transfer][data-phase=offered]')
  await offer.waitFor({ timeout: 30_000 })
  const started = performance.now()
  await offer.getByRole('button', { name: 'Accept' }).click()
  await b.page.waitForFunction(
    "['completed', 'failed', 'cancelled'].includes(document.querySelector('[data-testid=transfer][data-direction=receive]')?.dataset.phase ?? '')",
    undefined,
    { polling: 50, timeout: 30 * 60_000 },
  )
  const ms = performance.now() - started
  sampling = false
  await sampler
  const phase = await b.page.locator('[data-testid=transfer][data-direction=receive]').getAttribute('data-phase')
  const verified = await b.page.getByTestId('verified').count()
  const sink = await b.page.evaluate('typeof navigator.storage?.getDirectory === "function" ? "opfs" : "blob"')
  await Promise.all([a.context.close(), b.context.close()])
  if (phase !== 'completed') throw new Error(`engine transfer ended ${phase}`)
  return { mibPerSec: mibPerSec(SIZE, ms), seconds: Math.round(ms / 100) / 10, verified: verified === 1, receiverSink: sink, receiverPeakHeapMiB: mib(peakHeap), receiverHeapBeforeMiB: mib(heapBefore) }
}

/** (b): the same bytes over a bare RTCDataChannel between two contexts of the same browser. */
async function bareRun(browser: Browser) {
  const pages: Page[] = []
  const contexts: BrowserContext[] = []
  for (let i = 0; i < 2; i++) {
    const context = await browser.newContext()
    contexts.push(context)
    const page = await context.newPage()
    await page.goto('about:blank')
    await page.addScriptTag({ path: BARE_LOOP })
    pages.push(page)
  }
  const [a, b] = pages as [Page, Page]
  const offer: unknown = await a.evaluate('window.bareLoop.offer()')
  const answer: unknown = await b.evaluate(`window.bareLoop.answer(${JSON.stringify(offer)})`)
  await a.evaluate(`window.bareLoop.accept(${JSON.stringify(answer)})`)
  const received = b.evaluate(`window.bareLoop.receive(${SIZE})`) as Promise<number>
  const started = performance.now()
  await a.evaluate(`window.bareLoop.send(${SIZE}, ${CHUNK})`)
  const receiverMs = await received
  const ms = Math.max(receiverMs, 1)
  await Promise.all(contexts.map((c) => c.close()))
  return { mibPerSec: mibPerSec(SIZE, ms), seconds: Math.round(ms / 100) / 10, wallSeconds: Math.round((performance.now() - started) / 100) / 10 }
}

/** (d): signaling relay latency with many sockets in rooms of two on one instance. */
async function relayLatency(app: AppProcess) {
  const sockets: RoomsClient[] = []
  try {
    for (let i = 0; i < SOCKETS; i += 50) {
      sockets.push(...(await Promise.all(Array.from({ length: Math.min(50, SOCKETS - i) }, () => connectRooms(app.url)))))
    }
    const rooms: [RoomsClient, RoomsClient][] = []
    for (let i = 0; i + 1 < sockets.length; i += 2) {
      const a = sockets[i]!
      const b = sockets[i + 1]!
      const created = await a.emitWithAck('room:create', {})
      if (!created.ok) throw new Error(created.error.message)
      const joined = await b.emitWithAck('room:join', { secret: created.room.secret })
      if (!joined.ok) throw new Error(joined.error.message)
      rooms.push([a, b])
    }
    let samples: number[] = []
    let waiter: (() => void) | null = null
    for (const [, b] of rooms) {
      b.on('signal', ({ data }) => {
        samples.push(performance.now() - (data as { t: number }).t)
        waiter?.()
      })
    }
    // One at a time: the relay's own latency.
    for (let i = 0; i < 500; i++) {
      const [a, b] = rooms[i % rooms.length]!
      const arrived = new Promise<void>((resolve) => (waiter = resolve))
      a.emit('signal', { to: b.id!, data: { t: performance.now() } }, () => undefined)
      await arrived
    }
    waiter = null
    const sequential = percentiles(samples)
    // Bursts: every room signals at once (as when many devices start connecting together).
    samples = []
    for (let round = 0; round < 10; round++) {
      for (const [a, b] of rooms) a.emit('signal', { to: b.id!, data: { t: performance.now() } }, () => undefined)
      await sleep(500)
    }
    const burst = percentiles(samples)
    return { sockets: sockets.length, rooms: rooms.length, oneAtATime: sequential, burstOfOnePerRoom: { ...burst, delivered: samples.length, sent: rooms.length * 10 } }
  } finally {
    for (const s of sockets) s.disconnect()
  }
}

function percentiles(values: number[]) {
  const sorted = [...values].sort((x, y) => x - y)
  const at = (q: number) => Math.round((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN) * 100) / 100
  return { p50ms: at(0.5), p99ms: at(0.99), maxMs: at(1), n: sorted.length }
}

async function main() {
  if (!existsSync(`${ROOT}backend/dist/main.js`) || !existsSync(`${ROOT}frontend/dist/index.html`)) throw new Error('run `pnpm build` first')
  const files = tempDir('sharesync-bench-p2p-')
  let app: AppProcess | null = null
  let browser: Browser | null = null
  try {
    app = await startApp({ LOG_LEVEL: 'warn', ROOM_CREATE_RATE_LIMIT: '1000000/1h', ROOM_JOIN_RATE_LIMIT: '1000000/1m' })
    const result: Record<string, unknown> = { size: SIZE, sizeMiB: mib(SIZE), chunkKiB: CHUNK / 1024 }
    if (!SKIP.has('engine') || !SKIP.has('bare')) {
      browser = await launchBrowser()
      result.browser = browser.version()
    }
    // Rounds alternate engine and bare runs, so that a busy machine weighs on both alike.
    const engines: Awaited<ReturnType<typeof engineRun>>[] = []
    const bares: Awaited<ReturnType<typeof bareRun>>[] = []
    const path = SKIP.has('engine') ? '' : (progress(`writing a ${mib(SIZE)} MiB file`), randomFile(files.dir, 'bench.bin', SIZE))
    for (let round = 1; round <= ROUNDS; round++) {
      if (!SKIP.has('engine')) {
        progress(`round ${round}: engine (room page, A -> B)`)
        engines.push(await engineRun(browser!, app, path))
      }
      if (!SKIP.has('bare')) {
        progress(`round ${round}: bare RTCDataChannel loop`)
        bares.push(await bareRun(browser!))
      }
    }
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor((xs.length - 1) / 2)] ?? NaN
    if (engines.length) {
      result.engine = { mibPerSec: median(engines.map((e) => e.mibPerSec)), receiverPeakHeapMiB: Math.max(...engines.map((e) => e.receiverPeakHeapMiB)), rounds: engines }
    }
    if (bares.length) result.bare = { mibPerSec: median(bares.map((b) => b.mibPerSec)), rounds: bares }
    if (engines.length && bares.length) {
      result.ratioEngineToBare = Math.round((median(engines.map((e) => e.mibPerSec)) / median(bares.map((b) => b.mibPerSec))) * 100) / 100
    }
    if (!SKIP.has('signaling')) {
      progress(`signaling: ${SOCKETS} sockets`)
      result.signaling = await relayLatency(app)
    }
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
  } finally {
    // The app first (it must never outlive the bench), then the browser, which can be slow to close.
    await app?.stop()
    await Promise.race([browser?.close(), sleep(10_000)])
    files.remove()
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:p2p failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
    process.exit(1)
  },
)
