/**
 * The embedded database and the rest of the server: does a burst of database work stall
 * unrelated requests? Prints JSON, asserts nothing.
 *
 *   pnpm build && pnpm bench:embedded
 *
 * Switches: BENCH_DURATION (seconds of burst, 10), BENCH_CONNECTIONS (100), BENCH_DB (pglite |
 * postgres: the same on PostgreSQL, as the comparison where the database is another process).
 *
 * (a) latency of unrelated requests (a static file, the liveness route) with the server idle;
 * (b) the same while BENCH_CONNECTIONS clients issue downloads (POST /api/shares/:id/download:
 *     a database transaction each) as fast as they can; the ratio burst/idle is the figure.
 * Both for the bare mechanism (support/bare-pglite-server.mjs: PGlite on the event loop of a plain
 * HTTP server, a similar transaction per request) and for the app, in the same run.
 */
import { availableParallelism, cpus, loadavg } from 'node:os'
import type { UploadResponse } from '../protocol/src/index'
import { parseDuration } from '../backend/src/config'
import { createDatabase, startPostgres, type ServiceHandle } from '../backend/test/support/services'
import { startApp, type AppProcess } from '../test/support/app-server'
import { autocannon, startBareServer, type BareServer } from './support/load'
import { mib, rssBytes } from './support/rss'
import { sendStream } from './support/streams'

const env = process.env
const DURATION = parseDuration(env.BENCH_DURATION ?? '10') ?? 10
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 100)
const DB = env.BENCH_DB === 'postgres' ? 'postgres' : 'pglite'
const progress = (msg: string) => process.stderr.write(`[bench] ${msg}\n`)
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits

interface Probe {
  requests: number
  p50Ms: number
  p99Ms: number
  maxMs: number
}

/** Sequential requests to `url` until `until` resolves (or `count` requests when given). */
async function probe(url: string, opts: { until?: Promise<unknown>; count?: number }): Promise<Probe> {
  const times: number[] = []
  let done = false
  void opts.until?.finally(() => (done = true))
  while (!done && (opts.count === undefined || times.length < opts.count)) {
    const t = performance.now()
    const res = await fetch(url)
    await res.arrayBuffer()
    if (!res.ok) throw new Error(`${url} -> ${res.status}`)
    times.push(performance.now() - t)
    // One request every 20 ms: a probe, not a second load.
    await new Promise((r) => setTimeout(r, 20))
  }
  times.sort((a, b) => a - b)
  const at = (q: number) => round(times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0)
  return { requests: times.length, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: round(times[times.length - 1] ?? 0) }
}

interface Target {
  burstUrl: string
  staticUrl: string
  liveUrl: string
}

/** Unrelated requests probed idle, then during a burst of database work against `burstUrl`. */
async function measure(name: string, t: Target) {
  progress(`${name}: idle probes`)
  const idle = { staticFile: await probe(t.staticUrl, { count: 150 }), liveness: await probe(t.liveUrl, { count: 150 }) }
  progress(`${name}: ${CONNECTIONS} connections doing database work for ${DURATION}s, probing meanwhile`)
  const burst = autocannon(t.burstUrl, { connections: CONNECTIONS, seconds: DURATION, method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })
  const [work, staticFile, liveness] = await Promise.all([burst, probe(t.staticUrl, { until: burst }), probe(t.liveUrl, { until: burst })])
  return {
    idle,
    duringBurst: { work, staticFile, liveness },
    // How much slower an unrelated request gets while the database is busy (1 = not at all).
    slowdown: {
      staticFileP99: round(staticFile.p99Ms / Math.max(idle.staticFile.p99Ms, 0.1), 1),
      livenessP99: round(liveness.p99Ms / Math.max(idle.liveness.p99Ms, 0.1), 1),
    },
  }
}

async function main() {
  const services: ServiceHandle[] = []
  let app: AppProcess | null = null
  let bare: BareServer | null = null
  try {
    // The bare mechanism first: PGlite on the event loop of a plain HTTP server.
    bare = await startBareServer('./bare-pglite-server.mjs')
    const bareFigures = await measure('bare (PGlite on the event loop)', { burstUrl: `${bare.url}/write`, staticUrl: `${bare.url}/static`, liveUrl: `${bare.url}/health` })
    const bareRssMiB = mib(rssBytes(bare.proc.pid!) ?? 0)
    await bare.stop()
    bare = null

    const appEnv: Record<string, string> = { LOG_LEVEL: 'warn', UPLOAD_RATE_LIMIT: '1000000/1m', DOWNLOAD_RATE_LIMIT: '1000000000/1m' }
    if (DB === 'postgres') {
      const pg = await startPostgres()
      services.push(pg)
      appEnv.DATABASE_URL = await createDatabase(pg.url, 'bench_embedded')
    }
    app = await startApp(appEnv)
    const base = app.url
    const small = await sendStream('PUT', `${base}/api/upload/small.txt`, 1024)
    if (small.status !== 201) throw new Error(`upload -> ${small.status}`)
    const share = JSON.parse(small.body) as UploadResponse
    const appIdleRssMiB = mib(rssBytes(app.proc.pid!) ?? 0)
    // Download issuance: a database transaction per request, like the bare server's /write.
    const appFigures = await measure(`app (db ${DB})`, { burstUrl: `${base}/api/shares/${share.id}/download`, staticUrl: `${base}/manifest.webmanifest`, liveUrl: `${base}/api/health` })
    const report = {
      bench: 'embedded-event-loop',
      at: new Date().toISOString(),
      machine: { node: process.version, cpus: availableParallelism(), cpuModel: cpus()[0]?.model ?? 'unknown', loadAverage1m: round(loadavg()[0] ?? 0) },
      setup: { db: DB, connections: CONNECTIONS, seconds: DURATION },
      bare: { ...bareFigures, rssMiB: bareRssMiB },
      app: { ...appFigures, rssMiB: { idle: appIdleRssMiB, afterBurst: mib(rssBytes(app.proc.pid!) ?? 0) } },
      // The app's slowdown of unrelated requests relative to the bare server's (< 1: the app's event loop suffers less).
      appVsBareSlowdown: {
        staticFileP99: round(appFigures.slowdown.staticFileP99 / Math.max(bareFigures.slowdown.staticFileP99, 0.1), 2),
        livenessP99: round(appFigures.slowdown.livenessP99 / Math.max(bareFigures.slowdown.livenessP99, 0.1), 2),
      },
    }
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
  } catch (err) {
    if (app) progress(`server output (last 4000 chars):\n${app.output().slice(-4000)}`)
    throw err
  } finally {
    await bare?.stop()
    await app?.stop()
    for (const s of services.reverse()) await s.stop()
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`[bench] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exit(1)
})
