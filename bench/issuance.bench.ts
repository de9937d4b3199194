/**
 * Download-URL issuance of an unlimited share (POST /api/shares/:id/download) under load, next to a
 * bare express route in the same run: prints JSON, asserts nothing.
 *
 *   pnpm build && pnpm bench:issuance                  # PGlite, 3 rounds of 5 s, 100 connections
 *   BENCH_DB=postgres pnpm bench:issuance              # a throwaway PostgreSQL
 *   BENCH_BASELINE=/path/to/other/dist pnpm bench:issuance   # another build (e.g. main's) side by side
 *
 * Switches: BENCH_DB (pglite | postgres), BENCH_DURATION (5 s), BENCH_CONNECTIONS (100),
 * BENCH_ROUNDS (3), BENCH_BASELINE (a directory holding another build's main.js), BENCH_CPU_PROF (a
 * directory: the app runs with `node --cpu-prof` and writes its profile there when it stops),
 * BENCH_BASELINE_NODE_ARGS (node flags for the baseline: with BENCH_BASELINE=backend/dist, the same
 * build with and without those flags in one run).
 *
 * Each round loads the app, the baseline build (if any) and the bare route one after the other; the
 * figures are medians over the rounds. `barePost` is the same express as `bare` answering a POST with a
 * JSON body, an answer of the app's size and the app's security headers, and nothing else: the floor
 * any Express app pays for this request (`toBarePost`: the app's share of that floor).
 * `cpuUsPerRequest` is the server process's CPU time (user + system, every thread) per answered
 * request: the figure the machine's other load moves least.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { DownloadResponse, UploadResponse } from '../protocol/src/index'
import { parseDuration } from '../backend/src/config'
import { startPostgres, type ServiceHandle } from '../backend/test/support/services'
import { startApp, type AppProcess } from '../test/support/app-server'
import { autocannon, startBareServer, type LoadResult } from './support/load'
import { json, sendStream } from './support/streams'

const env = process.env
const DB = env.BENCH_DB === 'postgres' ? 'postgres' : 'pglite'
const DURATION = parseDuration(env.BENCH_DURATION ?? '5') ?? 5
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 100)
const ROUNDS = Math.max(1, Number(env.BENCH_ROUNDS ?? 3))
const BASELINE = env.BENCH_BASELINE
const CPU_PROF = env.BENCH_CPU_PROF
const BASELINE_NODE_ARGS = (env.BENCH_BASELINE_NODE_ARGS ?? '').split(' ').filter(Boolean)

const progress = (msg: string) => process.stderr.write(`[bench] ${msg}\n`)
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits

/** user + system CPU time of a process (all its threads) in microseconds, from /proc (Linux). */
function cpuUs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  // fields[11], fields[12]: utime, stime (the 14th and 15th of the whole line) in clock ticks
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100
}

interface Target {
  name: string
  url: string
  pid: number
  post: boolean
}

interface Measured extends LoadResult {
  cpuUsPerRequest: number
}

async function load(target: Target): Promise<Measured> {
  const before = cpuUs(target.pid)
  const r = await autocannon(target.url, {
    connections: CONNECTIONS,
    seconds: DURATION,
    ...(target.post ? { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } } : {}),
  })
  const answered = Math.max(1, r.requests - r.non2xx - r.errors)
  return { ...r, cpuUsPerRequest: Math.round((cpuUs(target.pid) - before) / answered) }
}

async function appTarget(name: string, appEnv: Record<string, string>, main?: string): Promise<{ app: AppProcess; target: Target }> {
  const nodeArgs = main ? BASELINE_NODE_ARGS : CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`] : []
  const app = await startApp(appEnv, { ...(main ? { main } : {}), nodeArgs })
  const small = await sendStream('PUT', `${app.url}/api/upload/small.txt`, 1024)
  const share = JSON.parse(small.body) as UploadResponse
  if (small.status !== 201 || share.maxDownloads !== null) throw new Error(`${name}: small upload: ${small.status} ${small.body}`)
  // One call by hand first: a load test of error answers would measure nothing.
  await json<DownloadResponse>(`${app.url}/api/shares/${share.id}/download`, { method: 'POST', body: {} })
  return { app, target: { name, url: `${app.url}/api/shares/${share.id}/download`, pid: app.proc.pid!, post: true } }
}

function summary(rounds: Measured[]) {
  return {
    requestsPerSec: median(rounds.map((r) => r.requestsPerSec)),
    p50Ms: median(rounds.map((r) => r.p50Ms)),
    p99Ms: median(rounds.map((r) => r.p99Ms)),
    cpuUsPerRequest: median(rounds.map((r) => r.cpuUsPerRequest)),
    non2xx: rounds.reduce((n, r) => n + r.non2xx, 0),
    errors: rounds.reduce((n, r) => n + r.errors + r.timeouts, 0),
    rounds: rounds.map((r) => ({ requestsPerSec: r.requestsPerSec, p99Ms: r.p99Ms, cpuUsPerRequest: r.cpuUsPerRequest })),
  }
}

async function main() {
  const services: ServiceHandle[] = []
  const apps: AppProcess[] = []
  const bare = await startBareServer()
  try {
    const appEnv: Record<string, string> = { LOG_LEVEL: 'warn', DOWNLOAD_RATE_LIMIT: '1000000000/1m', UPLOAD_RATE_LIMIT: '1000000/1m' }
    const targets: Target[] = []
    for (const [name, main] of [['app', undefined], ...(BASELINE ? [['baseline', join(BASELINE, 'main.js')]] : [])] as const) {
      const e = { ...appEnv }
      if (DB === 'postgres') {
        const pg = await startPostgres()
        services.push(pg)
        e.DATABASE_URL = pg.url
      }
      const { app, target } = await appTarget(name, e, main)
      apps.push(app)
      targets.push(target)
    }
    targets.push({ name: 'bare', url: `${bare.url}/bare`, pid: bare.proc.pid!, post: false })
    // the same express answering a POST with a JSON body and the app's headers, and nothing else: the floor
    targets.push({ name: 'barePost', url: `${bare.url}/bare-post`, pid: bare.proc.pid!, post: true })
    const results = new Map<string, Measured[]>(targets.map((t) => [t.name, []]))
    for (let i = 0; i < ROUNDS; i++) {
      for (const t of targets) {
        progress(`round ${i + 1} of ${ROUNDS}: ${t.name}, ${CONNECTIONS} connections for ${DURATION}s`)
        results.get(t.name)!.push(await load(t))
      }
    }
    const bareRounds = results.get('bare')!
    const barePostRounds = results.get('barePost')!
    const out: Record<string, unknown> = { db: DB, connections: CONNECTIONS, durationS: DURATION, rounds: ROUNDS }
    for (const t of targets) {
      const rounds = results.get(t.name)!
      out[t.name] = {
        ...summary(rounds),
        // the median of each round's app/bare pair
        ...(t.name === 'bare' ? {} : { toBare: median(rounds.map((r, k) => round(r.requestsPerSec / bareRounds[k]!.requestsPerSec))) }),
        ...(t.name === 'bare' || t.name === 'barePost' ? {} : { toBarePost: median(rounds.map((r, k) => round(r.requestsPerSec / barePostRounds[k]!.requestsPerSec))) }),
      }
    }
    process.stdout.write(JSON.stringify(out, null, 2) + '\n')
  } finally {
    for (const app of apps) await app.stop()
    await bare.stop()
    for (const s of services) await s.stop()
  }
}

await main()
