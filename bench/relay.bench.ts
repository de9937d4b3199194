/**
 * Server relay benchmark: prints JSON figures, asserts nothing.
 *
 *   pnpm build && pnpm bench:relay                 # 500 MiB each way
 *   BENCH_RELAY_SIZE=128MiB pnpm bench:relay       # a quick run
 *
 * Switches: BENCH_RELAY_SIZE (500MiB), BENCH_RELAY_ROUNDS (1: every variant once per round, in
 * turn; medians), BENCH_SKIP (node,bare,browser,cluster).
 *
 * In one run, on loopback, the same bytes through:
 * (a) node: the app's relay (built server, its own process) between two Socket.IO clients in this
 *     process, 256 KiB chunks, the window the server advertises; the server's RSS before and its
 *     peak while relaying (VmHWM after clear_refs);
 * (b) bare: the same client code against a bare Socket.IO forwarder, and a bare `ws` pipe with the
 *     same window (the cost of the app's checks, and of Socket.IO itself);
 * (c) browser: two Chromium contexts, the relay from page JS (socket.io-client) vs a bare
 *     RTCDataChannel loop between the same two contexts (the direct path), and the ratio;
 * (d) cluster: two app instances sharing Redis, sender on one, receiver on the other.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { parseSize } from '../backend/src/config'
import { connectRooms, relayBytes, type RoomsClient } from '../backend/test/support/rooms-client'
import { startRedis } from '../backend/test/support/services'
import { startApp, type AppProcess } from '../test/support/app-server'
import { launchBrowser } from '../test/support/browser'

const env = process.env
const SIZE = parseSize(env.BENCH_RELAY_SIZE ?? '500MiB') ?? 500 * 2 ** 20
const ROUNDS = Math.max(1, Number(env.BENCH_RELAY_ROUNDS ?? 1))
const SKIP = new Set((env.BENCH_SKIP ?? '').split(',').filter(Boolean))
const CHUNK = 256 * 1024
const WINDOW = 8
const ROOT = new URL('../', import.meta.url).pathname
const RELAY_LOOP = new URL('./p2p/relay-loop.js', import.meta.url).pathname
const BARE_LOOP = new URL('./p2p/bare-loop.js', import.meta.url).pathname
// The browser bundle is not an exported subpath: found next to the package's entry point.
const SOCKET_IO_BUNDLE = join(dirname(createRequire(import.meta.url).resolve('socket.io-client')), '../../dist/socket.io.min.js')

const progress = (msg: string) => process.stderr.write(`[bench:relay] ${msg}\n`)
const mibPerSec = (bytes: number, ms: number) => Math.round((bytes / 2 ** 20 / (ms / 1000)) * 10) / 10
const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor((xs.length - 1) / 2)] ?? NaN

async function procField(pid: number, name: string): Promise<number> {
  const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(await readFile(`/proc/${pid}/status`, 'utf8'))
  return Number(m?.[1] ?? 0) * 1024
}

async function pairOn(urlA: string, urlB = urlA): Promise<{ a: RoomsClient; b: RoomsClient; to: string; close: () => void }> {
  const a = await connectRooms(urlA)
  const b = await connectRooms(urlB)
  const created = await a.emitWithAck('room:create', {})
  if (!created.ok) throw new Error(created.error.message)
  const joined = await b.emitWithAck('room:join', { secret: created.room.secret })
  if (!joined.ok) throw new Error(joined.error.message)
  return { a, b, to: joined.self.peerId, close: () => (a.disconnect(), b.disconnect()) }
}

/** (a): the app, with the server's memory while relaying. */
async function nodeRun(app: AppProcess) {
  const { a, b, to, close } = await pairOn(app.url)
  try {
    await relayBytes(a, b, to, 8 * 2 ** 20) // warm-up
    const pid = app.proc.pid!
    const before = await procField(pid, 'VmRSS')
    await writeFile(`/proc/${pid}/clear_refs`, '5')
    const t = performance.now()
    const run = await relayBytes(a, b, to, SIZE)
    const ms = performance.now() - t
    const peak = await procField(pid, 'VmHWM')
    if (run.sent !== run.received) throw new Error('relayed bytes differ')
    return { mibPerSec: mibPerSec(SIZE, ms), seconds: Math.round(ms / 100) / 10, serverRssBeforeMiB: mib(before), serverRssPeakMiB: mib(peak), serverRssGrowthMiB: mib(peak - before) }
  } finally {
    close()
  }
}

function startBare(mode: 'socketio' | 'ws'): Promise<{ url: string; proc: ChildProcess }> {
  const proc = spawn(process.execPath, [new URL('./support/bare-relay.mjs', import.meta.url).pathname, mode], { stdio: ['ignore', 'pipe', 'inherit'], cwd: ROOT })
  return new Promise((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => {
      const m = /listening (\d+)/.exec(d.toString())
      if (m) resolve({ url: `http://127.0.0.1:${m[1]}`, proc })
    })
    proc.once('exit', (code) => reject(new Error(`bare relay exited (${code})`)))
  })
}

/** (b): the same client against a bare Socket.IO forwarder. */
async function bareSocketIoRun(url: string) {
  const a = await connectRooms(url)
  const b = await connectRooms(url)
  try {
    await relayBytes(a, b, 'receiver', 8 * 2 ** 20)
    const t = performance.now()
    const run = await relayBytes(a, b, 'receiver', SIZE)
    if (run.sent !== run.received) throw new Error('relayed bytes differ')
    return { mibPerSec: mibPerSec(SIZE, performance.now() - t) }
  } finally {
    a.disconnect()
    b.disconnect()
  }
}

/** The few `ws` client methods used here (the package comes with Socket.IO, without its types). */
interface WsClient {
  once(event: 'open' | 'error', fn: (err?: Error) => void): void
  on(event: 'message', fn: (data: Buffer) => void): void
  removeAllListeners(event: 'message'): void
  send(data: Buffer | string): void
  close(): void
}

/** (b): a bare ws pipe, same chunks and window, acks as 1-byte text messages. */
async function bareWsRun(url: string) {
  const backend = createRequire(new URL('../backend/package.json', import.meta.url))
  const { WebSocket } = createRequire(createRequire(backend.resolve('socket.io')).resolve('engine.io'))('ws') as { WebSocket: new (url: string, opts: object) => WsClient }
  const open = (path: string) =>
    new Promise<WsClient>((resolve, reject) => {
      const s = new WebSocket(`${url.replace('http', 'ws')}${path}`, { perMessageDeflate: false })
      s.once('open', () => resolve(s))
      s.once('error', reject)
    })
  const sender = await open('/send')
  const receiver = await open('/recv')
  const once = async (size: number) => {
    const got = createHash('sha256')
    let received = 0
    const done = new Promise<void>((resolve) => {
      receiver.on('message', (data: Buffer) => {
        got.update(data)
        received += data.length
        receiver.send('a')
        if (received >= size) resolve()
      })
    })
    let inFlight = 0
    let wake: (() => void) | null = null
    sender.on('message', () => {
      inFlight--
      const w = wake
      wake = null
      w?.()
    })
    const buf = Buffer.alloc(CHUNK, 7)
    for (let sent = 0; sent < size; sent += CHUNK) {
      while (inFlight >= WINDOW) await new Promise<void>((r) => (wake = r))
      inFlight++
      sender.send(buf.subarray(0, Math.min(CHUNK, size - sent)))
    }
    await done
    receiver.removeAllListeners('message')
    sender.removeAllListeners('message')
  }
  try {
    await once(8 * 2 ** 20)
    const t = performance.now()
    await once(SIZE)
    return { mibPerSec: mibPerSec(SIZE, performance.now() - t) }
  } finally {
    sender.close()
    receiver.close()
  }
}

async function appPage(browser: Browser, app: AppProcess): Promise<Page> {
  const context = await browser.newContext({ bypassCSP: true })
  const page = await context.newPage()
  await page.goto(`${app.url}/`)
  await page.addScriptTag({ path: SOCKET_IO_BUNDLE })
  await page.addScriptTag({ path: RELAY_LOOP })
  await page.evaluate('window.relayLoop.connect()')
  return page
}

/** (c): the relay between two Chromium pages. */
async function browserRelayRun(browser: Browser, app: AppProcess) {
  const a = await appPage(browser, app)
  const b = await appPage(browser, app)
  try {
    const room = (await a.evaluate('window.relayLoop.create()')) as { secret: string }
    const to = (await b.evaluate(`window.relayLoop.join(${JSON.stringify(room.secret)})`)) as string
    const received = b.evaluate(`window.relayLoop.receive(${SIZE})`) as Promise<number>
    await a.evaluate(`window.relayLoop.send(${JSON.stringify(to)}, ${SIZE}, ${CHUNK})`)
    const ms = Math.max(await received, 1)
    return { mibPerSec: mibPerSec(SIZE, ms) }
  } finally {
    await Promise.all([a.context().close(), b.context().close()])
  }
}

/** (c): a bare RTCDataChannel loop between two Chromium contexts (the direct path). */
async function browserDirectRun(browser: Browser) {
  const pages: Page[] = []
  for (let i = 0; i < 2; i++) {
    const page = await (await browser.newContext()).newPage()
    await page.goto('about:blank')
    await page.addScriptTag({ path: BARE_LOOP })
    pages.push(page)
  }
  const [a, b] = pages as [Page, Page]
  try {
    const offers: unknown = await a.evaluate('window.bareLoop.offer(1, 1)')
    const answers: unknown = await b.evaluate(`window.bareLoop.answer(${JSON.stringify(offers)}, 1)`)
    await a.evaluate(`window.bareLoop.accept(${JSON.stringify(answers)})`)
    const received = b.evaluate(`window.bareLoop.receive(${SIZE})`) as Promise<number>
    await a.evaluate(`window.bareLoop.send(${SIZE}, ${CHUNK})`)
    return { mibPerSec: mibPerSec(SIZE, Math.max(await received, 1)) }
  } finally {
    await Promise.all(pages.map((p) => p.context().close()))
  }
}

/** (d): sender on one instance, receiver on the other, through Redis. */
async function clusterRun(one: AppProcess, two: AppProcess) {
  const { a, b, to, close } = await pairOn(one.url, two.url)
  try {
    await relayBytes(a, b, to, 8 * 2 ** 20)
    const t = performance.now()
    const run = await relayBytes(a, b, to, SIZE)
    if (run.sent !== run.received) throw new Error('relayed bytes differ')
    return { mibPerSec: mibPerSec(SIZE, performance.now() - t) }
  } finally {
    close()
  }
}

async function main() {
  progress(`${mib(SIZE)} MiB per run, ${ROUNDS} round(s)`)
  // Generous relay caps for the benchmark's sizes.
  const appEnv = { RELAY_MAX_BYTES: '100GiB', RELAY_DAILY_QUOTA: '1TiB', LOG_LEVEL: 'warn' }
  const cleanup: (() => Promise<unknown> | unknown)[] = []
  const runs: Record<string, Record<string, number>[]> = {}
  const record = (name: string, r: Record<string, number>) => {
    progress(`${name}: ${JSON.stringify(r)}`)
    ;(runs[name] ??= []).push(r)
  }
  try {
    const app = await startApp(appEnv)
    cleanup.push(() => app.stop())
    const bareIo = SKIP.has('bare') ? null : await startBare('socketio')
    const bareWs = SKIP.has('bare') ? null : await startBare('ws')
    for (const b of [bareIo, bareWs]) if (b) cleanup.push(() => b.proc.kill('SIGTERM'))
    const browser = SKIP.has('browser') ? null : await launchBrowser()
    if (browser) cleanup.push(() => browser.close())
    const redis = SKIP.has('cluster') ? null : await startRedis()
    const cluster: AppProcess[] = []
    if (redis) {
      cleanup.push(() => redis.stop())
      for (let i = 0; i < 2; i++) {
        const instance = await startApp({ ...appEnv, REDIS_URL: redis.url, SESSION_SECRET: 'b'.repeat(40) })
        cleanup.unshift(() => instance.stop())
        cluster.push(instance)
      }
    }
    for (let round = 0; round < ROUNDS; round++) {
      if (!SKIP.has('node')) record('appRelayNode', await nodeRun(app))
      if (bareIo) record('bareSocketIoRelay', await bareSocketIoRun(bareIo.url))
      if (bareWs) record('bareWsPipe', await bareWsRun(bareWs.url))
      if (browser) {
        record('appRelayBrowser', await browserRelayRun(browser, app))
        record('directDataChannelBrowser', await browserDirectRun(browser))
      }
      if (cluster.length === 2) record('appRelayAcrossInstances', await clusterRun(cluster[0]!, cluster[1]!))
    }
  } finally {
    for (const stop of cleanup.reverse()) await Promise.resolve(stop()).catch(() => undefined)
  }
  const med = (name: string, field = 'mibPerSec') => (runs[name] ? median(runs[name].map((r) => r[field]!)) : null)
  const ratio = (x: number | null, y: number | null) => (x !== null && y !== null && y > 0 ? Math.round((x / y) * 100) / 100 : null)
  const figures = {
    sizeMiB: mib(SIZE),
    rounds: ROUNDS,
    chunkKiB: CHUNK / 1024,
    window: WINDOW,
    medianMiBPerSec: Object.fromEntries(Object.keys(runs).map((k) => [k, med(k)])),
    appRelayServerRss: runs.appRelayNode ? { beforeMiB: med('appRelayNode', 'serverRssBeforeMiB'), peakMiB: med('appRelayNode', 'serverRssPeakMiB'), growthMiB: med('appRelayNode', 'serverRssGrowthMiB') } : null,
    ratios: {
      appRelayVsBareSocketIo: ratio(med('appRelayNode'), med('bareSocketIoRelay')),
      appRelayVsBareWs: ratio(med('appRelayNode'), med('bareWsPipe')),
      browserRelayVsDirect: ratio(med('appRelayBrowser'), med('directDataChannelBrowser')),
      acrossInstancesVsOne: ratio(med('appRelayAcrossInstances'), med('appRelayNode')),
    },
    runs,
  }
  process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`)
}

await main()
