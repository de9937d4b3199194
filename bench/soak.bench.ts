/**
 * A bounded soak, as an operator would run one: clients in a loop of mixed operations — curl
 * uploads of random files (a few KiB to a few MiB), downloads checked by SHA-256, share metadata,
 * owner deletes — against the embedded default (one instance: PGlite + disk) and against two
 * instances on PostgreSQL + Redis + s3rver behind nginx running deploy/nginx.conf (round-robin),
 * one after the other in the same run. Prints JSON, asserts nothing.
 *
 *   pnpm build && pnpm bench:soak
 *
 * Switches: BENCH_DURATION (seconds per setup, 300), BENCH_CLIENTS (150), BENCH_MAX_FILE (bytes
 * of the largest upload, 4 MiB), BENCH_SETUPS (embedded,cluster).
 *
 * Per setup: operations, errors by status (0 = no answer) with the second of their first and last
 * occurrence, what gave no answer (the app, or the store behind the app's download redirect, with the
 * error's code), SHA-256 mismatches, p50/p99 by kind, and each server's RSS over time (sampled every
 * 5 s). An upload refused 429 server_busy (the per-instance streaming cap) is sent again after its
 * Retry-After, as `curl --retry` would, up to 3 times: `busyRetries` counts those refusals, and the
 * upload's time includes the wait.
 */
import { createHash, randomBytes } from 'node:crypto'
import { availableParallelism, cpus, loadavg } from 'node:os'
import { parseDuration } from '../backend/src/config'
import { startApp, type AppProcess } from '../test/support/app-server'
import { startNginx, type Nginx } from '../test/faults/support/nginx'
import { startCluster, type Cluster } from '../test/faults/support/stack'
import { mib, rssBytes } from './support/rss'

const env = process.env
const DURATION = parseDuration(env.BENCH_DURATION ?? '300') ?? 300
const CLIENTS = Number(env.BENCH_CLIENTS ?? 150)
const MAX_FILE = Number(env.BENCH_MAX_FILE ?? 4 * 2 ** 20)
const SETUPS = (env.BENCH_SETUPS ?? 'embedded,cluster').split(',')
const progress = (msg: string) => process.stderr.write(`[bench] ${msg}\n`)
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits
const sha = (b: Buffer | Uint8Array) => createHash('sha256').update(b).digest('hex')
/** Rate limits far above what the clients can reach: the soak measures the app, not its limits. */
const LOAD_ENV = {
  LOG_LEVEL: 'warn',
  UPLOAD_RATE_LIMIT: '10000000/1h',
  DOWNLOAD_RATE_LIMIT: '10000000/1m',
  PART_SIGN_RATE_LIMIT: '10000000/1m',
  ANON_DAILY_QUOTA: '10TiB',
  DAILY_QUOTA: '10TiB',
  MAX_CONNECTIONS_PER_ADDRESS: '0',
}

type Kind = 'upload' | 'download' | 'metadata' | 'delete'
interface Stored {
  id: string
  ownerToken: string
  sha256: string
}

class Tally {
  operations = 0
  errors: Record<string, number> = {}
  /** Per error key: the second (from the start of the setup) of its first and last occurrence. */
  errorsAtS: Record<string, [number, number]> = {}
  /** Status 0 (no answer) by the hop that gave none (app or storage, after the app's redirect) and the cause's code. */
  noAnswer: Record<string, number> = {}
  /** Uploads refused with 429 server_busy (the streaming cap) and sent again after Retry-After, as `curl --retry` does. */
  busyRetries = 0
  mismatches = 0
  private readonly times: Record<Kind, number[]> = { upload: [], download: [], metadata: [], delete: [] }
  constructor(private readonly started: number) {}
  record(kind: Kind, ms: number, status: number, ok: boolean) {
    this.operations++
    this.times[kind].push(ms)
    if (ok) return
    const key = `${kind} ${status}`
    this.errors[key] = (this.errors[key] ?? 0) + 1
    const at = Math.round((Date.now() - this.started) / 1000)
    this.errorsAtS[key] = [this.errorsAtS[key]?.[0] ?? at, at]
  }
  latency() {
    return Object.fromEntries(
      (Object.keys(this.times) as Kind[]).map((k) => {
        const t = [...this.times[k]].sort((a, b) => a - b)
        const at = (q: number) => round(t[Math.min(t.length - 1, Math.floor(q * t.length))] ?? 0)
        return [k, { count: t.length, p50Ms: at(0.5), p99Ms: at(0.99) }]
      }),
    )
  }
}

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now()
  const out = await work()
  return [out, performance.now() - t]
}

/** A request that got no answer, with the hop it was sent to. */
class NoAnswer extends Error {
  constructor(
    readonly hop: 'app' | 'storage',
    readonly reason: unknown,
  ) {
    super(`${hop}: ${reason instanceof Error ? reason.message : String(reason)}`)
  }
  get code(): string {
    const c = this.reason as { code?: unknown; cause?: { code?: unknown; message?: unknown }; name?: unknown } | null
    return String(c?.cause?.code ?? c?.code ?? c?.name ?? 'unknown')
  }
}

const hop = <T>(name: 'app' | 'storage', work: Promise<T>) => work.catch((err: unknown) => Promise.reject(new NoAnswer(name, err)))

/** A download as curl -L does it, following the app's redirect (to the store's signed URL) by hand to tell which hop failed. */
async function downloadShare(url: string, signal: AbortSignal): Promise<[number, Buffer]> {
  const first = await hop('app', fetch(url, { signal, redirect: 'manual' }))
  const location = first.headers.get('location')
  if (first.status < 300 || first.status >= 400 || !location) return [first.status, Buffer.from(await hop('app', first.arrayBuffer()))]
  await first.arrayBuffer()
  const res = await hop('storage', fetch(new URL(location, url), { signal }))
  return [res.status, Buffer.from(await hop('storage', res.arrayBuffer()))]
}

/** An upload, sent again after Retry-After while the server answers 429 server_busy (at most 3 times). */
async function uploadFile(url: string, body: Buffer, signal: AbortSignal, tally: Tally): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    const res = await hop('app', fetch(url, { method: 'PUT', body, signal }))
    if (res.status !== 429 || attempt === 3) return res
    const wait = Number(res.headers.get('retry-after') ?? 1)
    const answer = (await res.json()) as { error?: { code?: string } }
    if (answer.error?.code !== 'server_busy') return new Response(JSON.stringify(answer), { status: 429 })
    tally.busyRetries++
    await new Promise((r) => setTimeout(r, wait * 1000))
  }
}

/** One client: upload, then mostly downloads and metadata of what the clients stored, sometimes a delete. */
async function client(c: number, bases: string[], pool: Stored[], tally: Tally, until: number) {
  for (let i = 0; Date.now() < until; i++) {
    const base = bases[(c + i) % bases.length]!
    const roll = (c * 7 + i) % 10
    const target = pool[Math.floor(Math.random() * pool.length)]
    const signal = AbortSignal.timeout(120_000)
    try {
      if (roll < 3 || !target) {
        const body = randomBytes(1024 + Math.floor(Math.random() * (MAX_FILE - 1024)))
        const [res, ms] = await timed(() => uploadFile(`${base}/api/upload/soak-${c}-${i}.bin`, body, signal, tally))
        const ok = res.status === 201
        if (ok) {
          const up = (await res.json()) as { id: string; ownerToken: string }
          pool.push({ id: up.id, ownerToken: up.ownerToken, sha256: sha(body) })
        } else await res.arrayBuffer()
        tally.record('upload', ms, res.status, ok)
      } else if (roll < 7) {
        const [[status, bytes], ms] = await timed(() => downloadShare(`${base}/api/shares/${target.id}/download`, signal))
        // A share deleted by another client meanwhile answers 404: not an error.
        const gone = status === 404 && !pool.includes(target)
        tally.record('download', ms, status, status === 200 || gone)
        if (status === 200 && sha(bytes) !== target.sha256) tally.mismatches++
      } else if (roll < 9) {
        const [res, ms] = await timed(() => fetch(`${base}/api/shares/${target.id}`, { signal }))
        await res.arrayBuffer()
        tally.record('metadata', ms, res.status, res.status === 200 || (res.status === 404 && !pool.includes(target)))
      } else {
        pool.splice(pool.indexOf(target), 1)
        const [res, ms] = await timed(() => fetch(`${base}/api/shares/${target.id}`, { method: 'DELETE', headers: { 'x-owner-token': target.ownerToken }, signal }))
        await res.arrayBuffer()
        tally.record('delete', ms, res.status, res.status === 200 || res.status === 204)
      }
    } catch (err) {
      // Status 0: no answer (refused, reset, timed out).
      if (!Object.keys(tally.errors).some((k) => k.endsWith(' 0'))) progress(`no answer: ${err instanceof Error ? err.message : String(err)}`)
      const kind = roll < 3 ? 'upload' : roll < 7 ? 'download' : roll < 9 ? 'metadata' : 'delete'
      const why = err instanceof NoAnswer ? `${kind} ${err.hop} ${err.code}` : `${kind} app ${String((err as { name?: unknown } | null)?.name ?? 'unknown')}`
      tally.noAnswer[why] = (tally.noAnswer[why] ?? 0) + 1
      tally.record(kind, 0, 0, false)
    }
  }
}

async function soak(name: string, bases: string[], pids: () => number[]) {
  progress(`${name}: ${CLIENTS} clients for ${DURATION}s`)
  const started = Date.now()
  const tally = new Tally(started)
  const pool: Stored[] = []
  const rss: { atS: number; MiB: number[] }[] = []
  const sample = () => rss.push({ atS: Math.round((Date.now() - started) / 1000), MiB: pids().map((p) => mib(rssBytes(p) ?? 0)) })
  sample()
  const timer = setInterval(sample, 5000)
  const until = started + DURATION * 1000
  await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c, bases, pool, tally, until)))
  clearInterval(timer)
  sample()
  return {
    operations: tally.operations,
    perSecond: round(tally.operations / ((Date.now() - started) / 1000)),
    errors: tally.errors,
    errorsAtS: tally.errorsAtS,
    noAnswer: tally.noAnswer,
    busyRetries: tally.busyRetries,
    mismatches: tally.mismatches,
    latency: tally.latency(),
    rssMiB: { peak: Math.max(...rss.flatMap((s) => s.MiB)), overTime: rss },
  }
}

async function main() {
  const results: Record<string, unknown> = {}
  if (SETUPS.includes('embedded')) {
    let app: AppProcess | null = null
    try {
      app = await startApp(LOAD_ENV)
      const pid = app.proc.pid!
      results.embedded = await soak('embedded (PGlite + disk, one instance)', [app.url], () => [pid])
    } finally {
      await app?.stop()
    }
  }
  if (SETUPS.includes('cluster')) {
    let cluster: Cluster | null = null
    let nginx: Nginx | null = null
    try {
      cluster = await startCluster({ instances: 2, env: { ...LOAD_ENV, TRUST_PROXY: 'loopback' } })
      nginx = await startNginx(cluster.apps.map((a) => a.port))
      const apps = cluster.apps
      results.cluster = await soak('cluster (2 instances, PostgreSQL + Redis + s3rver, behind nginx)', [nginx.url], () => apps.map((a) => a.proc.pid!))
    } finally {
      await nginx?.stop()
      await cluster?.stop()
    }
  }
  const report = {
    bench: 'soak',
    at: new Date().toISOString(),
    machine: { node: process.version, cpus: availableParallelism(), cpuModel: cpus()[0]?.model ?? 'unknown', loadAverage1m: round(loadavg()[0] ?? 0) },
    setup: { seconds: DURATION, clients: CLIENTS, maxFileBytes: MAX_FILE, mix: '30% uploads, 40% downloads (SHA-256 checked), 20% metadata, 10% owner deletes' },
    ...results,
  }
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
}

main().catch((err: unknown) => {
  process.stderr.write(`[bench] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exit(1)
})
