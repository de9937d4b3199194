/**
 * P2P benchmark: prints JSON figures, asserts nothing.
 *
 *   pnpm build && pnpm bench:p2p                 # everything, 1 GiB
 *   BENCH_P2P_SIZE=256MiB BENCH_SKIP=slow,signaling pnpm bench:p2p   # a quick run
 *
 * Switches: BENCH_P2P_SIZE (1GiB), BENCH_P2P_ROUNDS (3: engine and bare runs, alternating; medians),
 * BENCH_P2P_SLOW_SIZE (the slowed-sink run, 1GiB), BENCH_P2P_FIREFOX_SIZE and BENCH_P2P_VARIANT_SIZE (256MiB), BENCH_SOCKETS
 * (1000, in rooms of two), BENCH_SKIP (engine, bare, variants, slow, firefox, signaling), BENCH_P2P_CPU (0).
 *
 * (a) the room page itself between two Chromium contexts on loopback: files picked and accepted
 *     through the UI, read and hashed in the sender's worker, hashed and written to OPFS in the
 *     receiver's worker, in MiB/s from "Accept" to "verified";
 * (b) a bare RTCDataChannel loop (256 KiB chunks, 4 MiB high-water mark, no disk, no hash) between
 *     two contexts of the same browser, alternating with (a); the ratio (a) / (b) of the medians;
 * (c) bare-loop variants: 2 and 4 channels on one peer connection, 2 peer connections;
 * (d) the receiver's peak JS memory during (a), and with its disk slowed to 5 MB/s: V8 heap plus
 *     ArrayBuffer backing stores, page and workers (CDP), sampled every 200 ms;
 * (e) Firefox ESR ↔ Chromium through the room page, both directions;
 * (f) signaling relay latency (emit -> delivery, p50/p99) with BENCH_SOCKETS sockets in rooms of two
 *     on one instance: one at a time, and in bursts of one signal per room;
 * (g) with BENCH_P2P_CPU=1: the browser's CPU seconds per process type and thread during each (a)
 *     and (b) run (Linux /proc), to see where the room page spends more than the bare loop.
 */
import { existsSync } from 'node:fs'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import type { Browser as FfBrowser, Page as FfPage } from 'puppeteer-core'
import { parseSize } from '../backend/src/config'
import { connectRooms, sleep, type RoomsClient } from '../backend/test/support/rooms-client'
import { startApp, type AppProcess } from '../test/support/app-server'
import { launchBrowser } from '../test/support/browser'
import { randomFile, tempDir } from '../test/support/files'
import { launchFirefox } from '../test/support/firefox'
import { sampleHeap } from '../test/support/heap'
import { trackCpu } from './support/threads-cpu'

// Benchmark switches: read here only, like a test's TEST_LOG_LEVEL.
const env = process.env
const SIZE = parseSize(env.BENCH_P2P_SIZE ?? '1GiB') ?? 2 ** 30
const SLOW_SIZE = parseSize(env.BENCH_P2P_SLOW_SIZE ?? '1GiB') ?? 2 ** 30
const FIREFOX_SIZE = parseSize(env.BENCH_P2P_FIREFOX_SIZE ?? '256MiB') ?? 2 ** 28
const VARIANT_SIZE = parseSize(env.BENCH_P2P_VARIANT_SIZE ?? '256MiB') ?? 2 ** 28
const SOCKETS = Number(env.BENCH_SOCKETS ?? 1000)
const ROUNDS = Math.max(1, Number(env.BENCH_P2P_ROUNDS ?? 3))
const CPU = env.BENCH_P2P_CPU === '1'
const SKIP = new Set((env.BENCH_SKIP ?? '').split(',').filter(Boolean))
const CHUNK = 256 * 1024
const SLOW_SINK = 5_000_000
const ROOT = new URL('../', import.meta.url).pathname
const BARE_LOOP = new URL('./p2p/bare-loop.js', import.meta.url).pathname
const FINAL_PHASE = (dir: string) => `['completed', 'failed', 'cancelled'].includes(document.querySelector('[data-testid=transfer][data-direction=${dir}]')?.dataset.phase ?? '')`

const progress = (msg: string) => process.stderr.write(`[bench:p2p] ${msg}\n`)
const mibPerSec = (bytes: number, ms: number) => Math.round((bytes / 2 ** 20 / (ms / 1000)) * 10) / 10
const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor((xs.length - 1) / 2)] ?? NaN

interface Device {
  context: BrowserContext
  page: Page
}

async function pair(browser: Browser, app: AppProcess, receiverStorage: Record<string, string> = {}): Promise<[Device, Device]> {
  const make = async (storage: Record<string, string>) => {
    // bypassCSP: the bench's string predicates are evaluated in the page (the app's CSP forbids eval).
    const context = await browser.newContext({ acceptDownloads: true, bypassCSP: true })
    await context.addInitScript(Object.entries(storage).map(([k, v]) => `localStorage.setItem(${JSON.stringify(k)}, ${JSON.stringify(v)})`).join(';'))
    return { context, page: await context.newPage() }
  }
  const a = await make({})
  const b = await make(receiverStorage)
  await a.page.goto(`${app.url}/p2p`)
  await a.page.getByRole('button', { name: 'Create a room' }).click()
  const link = (await a.page.getByTestId('room-link').textContent())!.trim()
  await b.page.goto(link)
  for (const d of [a, b]) await d.page.locator('[data-testid=peer][data-link=connected]').waitFor({ timeout: 30_000 })
  return [a, b]
}

/** (a) + (d): the room page, A -> B; `sinkRate` slows B's disk (bytes per second). */
async function engineRun(browser: Browser, app: AppProcess, path: string, size: number, sinkRate = 0) {
  const [a, b] = await pair(browser, app, sinkRate ? { 'sharesync.p2p.sinkRate': String(sinkRate) } : {})
  // The slowed run also collects garbage before each reading: what B holds, not what V8 has not swept.
  const heap = await sampleHeap(browser, b.page, { live: sinkRate > 0 })
  const heapBefore = heap.peak()
  await a.page.getByTestId('p2p-file-input').setInputFiles(path)
  await a.page.getByRole('button', { name: 'Send', exact: true }).click()
  const offer = b.page.locator('[data-testid=transfer][data-phase=offered]')
  await offer.waitFor({ timeout: 30_000 })
  const cpu = CPU ? trackCpu() : null
  const started = performance.now()
  await offer.getByRole('button', { name: 'Accept' }).click()
  await b.page.waitForFunction(FINAL_PHASE('receive'), undefined, { polling: 50, timeout: 60 * 60_000 })
  const ms = performance.now() - started
  const cpuSeconds = cpu?.stop()
  await heap.stop()
  const phase = await b.page.locator('[data-testid=transfer][data-direction=receive]').getAttribute('data-phase')
  const verified = await b.page.getByTestId('verified').count()
  await Promise.all([a.context.close(), b.context.close()])
  if (phase !== 'completed') throw new Error(`engine transfer ended ${phase}`)
  return {
    mibPerSec: mibPerSec(size, ms),
    seconds: Math.round(ms / 100) / 10,
    verified: verified === 1,
    receiverPeakMiB: mib(heap.peakRaw()),
    ...(sinkRate ? { receiverPeakAfterGcMiB: mib(heap.peak()) } : {}),
    receiverBeforeMiB: mib(heapBefore),
    ...(cpuSeconds ? { cpuSeconds } : {}),
  }
}

/** (b) + (c): the same bytes over bare RTCDataChannels between two contexts of the same browser. */
async function bareRun(browser: Browser, pcs = 1, channels = 1, size = SIZE) {
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
  const offers: unknown = await a.evaluate(`window.bareLoop.offer(${pcs}, ${channels})`)
  const answers: unknown = await b.evaluate(`window.bareLoop.answer(${JSON.stringify(offers)}, ${channels})`)
  await a.evaluate(`window.bareLoop.accept(${JSON.stringify(answers)})`)
  const cpu = CPU ? trackCpu() : null
  const received = b.evaluate(`window.bareLoop.receive(${size})`) as Promise<number>
  await a.evaluate(`window.bareLoop.send(${size}, ${CHUNK})`)
  const ms = Math.max(await received, 1)
  const cpuSeconds = cpu?.stop()
  await Promise.all(contexts.map((c) => c.close()))
  return { mibPerSec: mibPerSec(size, ms), seconds: Math.round(ms / 100) / 10, ...(cpuSeconds ? { cpuSeconds } : {}) }
}

/** (e): Firefox ESR and Chromium in one room; `from` sends `path` to the other. */
async function firefoxRun(chromium: Browser, firefox: FfBrowser, app: AppProcess, path: string, from: 'firefox' | 'chromium') {
  const ff: FfPage = await firefox.newPage()
  const context = await chromium.newContext({ bypassCSP: true })
  const page = await context.newPage()
  try {
    await ff.goto(`${app.url}/p2p`)
    await ff.locator('button ::-p-text(Create a room)').click()
    await ff.waitForSelector('[data-testid=room-link]')
    await page.goto((await ff.$eval('[data-testid=room-link]', (e) => e.textContent ?? '')).trim())
    await page.locator('[data-testid=peer][data-link=connected]').waitFor({ timeout: 30_000 })
    await ff.waitForSelector('[data-testid=peer][data-link=connected]')
    let started = 0
    if (from === 'firefox') {
      await ((await ff.$('[data-testid=p2p-file-input]')) as unknown as { uploadFile(p: string): Promise<void> }).uploadFile(path)
      await ff.locator('button ::-p-text(Send)').click()
      const offer = page.locator('[data-testid=transfer][data-phase=offered]')
      await offer.waitFor({ timeout: 30_000 })
      started = performance.now()
      await offer.getByRole('button', { name: 'Accept' }).click()
      await page.waitForFunction(FINAL_PHASE('receive'), undefined, { polling: 50, timeout: 60 * 60_000 })
    } else {
      await page.getByTestId('p2p-file-input').setInputFiles(path)
      await page.getByRole('button', { name: 'Send', exact: true }).click()
      await ff.waitForSelector('[data-testid=transfer][data-direction=receive][data-phase=offered]')
      started = performance.now()
      await ff.locator('[data-testid=transfer][data-direction=receive] button ::-p-text(Accept)').click()
      await ff.waitForFunction(FINAL_PHASE('receive'), { polling: 100, timeout: 60 * 60_000 })
    }
    const ms = performance.now() - started
    const phase = from === 'firefox' ? await page.locator('[data-testid=transfer][data-direction=receive]').getAttribute('data-phase') : await ff.evaluate("document.querySelector('[data-testid=transfer][data-direction=receive]')?.dataset.phase")
    if (phase !== 'completed') throw new Error(`${from} -> other ended ${phase}`)
    return { mibPerSec: mibPerSec(FIREFOX_SIZE, ms), seconds: Math.round(ms / 100) / 10 }
  } finally {
    await context.close()
    await ff.close()
  }
}

/** (d): signaling relay latency with many sockets in rooms of two on one instance. */
async function relayLatency(app: AppProcess) {
  const sockets: RoomsClient[] = []
  try {
    for (let i = 0; i < SOCKETS; i += 50) {
      sockets.push(...(await Promise.all(Array.from({ length: Math.min(50, SOCKETS - i) }, () => connectRooms(app.url)))))
    }
    // [sender, receiver, the receiver's peer id]
    const rooms: [RoomsClient, RoomsClient, string][] = []
    for (let i = 0; i + 1 < sockets.length; i += 2) {
      const a = sockets[i]!
      const b = sockets[i + 1]!
      const created = await a.emitWithAck('room:create', {})
      if (!created.ok) throw new Error(created.error.message)
      const joined = await b.emitWithAck('room:join', { secret: created.room.secret })
      if (!joined.ok) throw new Error(joined.error.message)
      rooms.push([a, b, joined.self.peerId])
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
      const [a, , to] = rooms[i % rooms.length]!
      const arrived = new Promise<void>((resolve) => (waiter = resolve))
      a.emit('signal', { to, data: { t: performance.now() } }, () => undefined)
      await arrived
    }
    waiter = null
    const sequential = percentiles(samples)
    // Bursts: every room signals at once (as when many devices start connecting together).
    samples = []
    for (let round = 0; round < 10; round++) {
      for (const [a, , to] of rooms) a.emit('signal', { to, data: { t: performance.now() } }, () => undefined)
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
  let firefox: FfBrowser | null = null
  try {
    app = await startApp({ LOG_LEVEL: 'warn', ROOM_CREATE_RATE_LIMIT: '1000000/1h', ROOM_JOIN_RATE_LIMIT: '1000000/1m' })
    const result: Record<string, unknown> = { size: SIZE, sizeMiB: mib(SIZE), chunkKiB: CHUNK / 1024, rounds: ROUNDS }
    const browsers = ['engine', 'bare', 'variants', 'slow', 'firefox'].some((k) => !SKIP.has(k))
    if (browsers) {
      browser = await launchBrowser()
      result.browser = browser.version()
    }
    const path = SKIP.has('engine') && SKIP.has('slow') ? '' : (progress(`writing a ${mib(SIZE)} MiB file`), randomFile(files.dir, 'bench.bin', SIZE))
    // Rounds alternate engine and bare runs, so that a busy machine weighs on both alike.
    const engines: Awaited<ReturnType<typeof engineRun>>[] = []
    const bares: Awaited<ReturnType<typeof bareRun>>[] = []
    for (let round = 1; round <= ROUNDS; round++) {
      if (!SKIP.has('engine')) {
        progress(`round ${round}: room page, A -> B`)
        engines.push(await engineRun(browser!, app, path, SIZE))
      }
      if (!SKIP.has('bare')) {
        progress(`round ${round}: bare RTCDataChannel loop`)
        bares.push(await bareRun(browser!))
      }
    }
    if (engines.length) result.roomPage = { mibPerSec: median(engines.map((e) => e.mibPerSec)), receiverPeakMiB: Math.max(...engines.map((e) => e.receiverPeakMiB)), rounds: engines }
    if (bares.length) result.bare = { mibPerSec: median(bares.map((b) => b.mibPerSec)), rounds: bares }
    if (engines.length && bares.length) result.ratioRoomPageToBare = Math.round((median(engines.map((e) => e.mibPerSec)) / median(bares.map((b) => b.mibPerSec))) * 100) / 100
    if (!SKIP.has('variants')) {
      const variants: Record<string, unknown> = { sizeMiB: mib(VARIANT_SIZE) }
      for (const [name, pcs, channels] of [['1pc-1ch', 1, 1], ['1pc-2ch', 1, 2], ['1pc-4ch', 1, 4], ['2pc-1ch', 2, 1]] as const) {
        progress(`bare variant ${name}`)
        const runs = []
        for (let i = 0; i < ROUNDS; i++) runs.push((await bareRun(browser!, pcs, channels, VARIANT_SIZE)).mibPerSec)
        variants[name] = { mibPerSec: median(runs), runs }
      }
      result.bareVariants = variants
    }
    if (!SKIP.has('slow')) {
      progress(`receiver disk slowed to ${SLOW_SINK / 1e6} MB/s, ${mib(SLOW_SIZE)} MiB`)
      const slowPath = SLOW_SIZE === SIZE ? path : randomFile(files.dir, 'slow.bin', SLOW_SIZE)
      result.slowedSink = { bytesPerSecond: SLOW_SINK, sizeMiB: mib(SLOW_SIZE), ...(await engineRun(browser!, app, slowPath, SLOW_SIZE, SLOW_SINK)) }
    }
    if (!SKIP.has('firefox')) {
      firefox = await launchFirefox()
      const ffPath = randomFile(files.dir, 'firefox.bin', FIREFOX_SIZE)
      progress(`Firefox <-> Chromium, ${mib(FIREFOX_SIZE)} MiB each way`)
      result.firefox = {
        version: await firefox.version(),
        sizeMiB: mib(FIREFOX_SIZE),
        firefoxToChromium: await firefoxRun(browser!, firefox, app, ffPath, 'firefox'),
        chromiumToFirefox: await firefoxRun(browser!, firefox, app, ffPath, 'chromium'),
      }
    }
    if (!SKIP.has('signaling')) {
      progress(`signaling: ${SOCKETS} sockets`)
      result.signaling = await relayLatency(app)
    }
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
  } finally {
    // The app first (it must never outlive the bench), then the browsers, which can be slow to close.
    await app?.stop()
    await Promise.race([browser?.close(), sleep(10_000)])
    await Promise.race([firefox?.close(), sleep(10_000)])
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
