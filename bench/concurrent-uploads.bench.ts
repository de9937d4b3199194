/**
 * Memory under concurrent curl uploads to S3: BENCH_UPLOADS uploads of BENCH_SIZE at once, against
 * the app with its per-instance streaming cap (STREAM_UPLOAD_CONCURRENCY, default 16: the others
 * wait for a turn) and, in the same run, the same app with the cap lifted (every upload streams at
 * once, each holding its S3 part buffers). Prints JSON, asserts nothing.
 *
 *   pnpm build && pnpm bench:uploads-rss
 *
 * Switches: BENCH_UPLOADS (100), BENCH_SIZE (24MiB), BENCH_CAP (the capped run's cap, 16),
 * BENCH_DB (pglite | postgres: a throwaway PostgreSQL, the scaled-out setup).
 */
import { availableParallelism, cpus, loadavg } from 'node:os'
import { parseSize } from '../backend/src/config'
import { startPostgres, startS3 } from '../backend/test/support/services'
import { startApp } from '../test/support/app-server'
import { sampleRss } from './support/rss'
import { sendStream } from './support/streams'

const env = process.env
const UPLOADS = Number(env.BENCH_UPLOADS ?? 100)
const SIZE = parseSize(env.BENCH_SIZE ?? '24MiB') ?? 24 * 2 ** 20
const CAP = env.BENCH_CAP ?? '16'
const DB = env.BENCH_DB === 'postgres' ? 'postgres' : 'pglite'
const progress = (msg: string) => process.stderr.write(`[bench] ${msg}\n`)
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits

async function run(name: string, s3Env: Record<string, string>, concurrency: string) {
  const app = await startApp({
    ...s3Env,
    LOG_LEVEL: 'warn',
    UPLOAD_RATE_LIMIT: '1000000/1h',
    ANON_DAILY_QUOTA: '10TiB',
    MAX_CONNECTIONS_PER_ADDRESS: '0',
    STREAM_UPLOAD_CONCURRENCY: concurrency,
    STREAM_UPLOAD_QUEUE_WAIT: '10m',
  })
  try {
    progress(`${name}: ${UPLOADS} uploads of ${SIZE} bytes at once`)
    const started = performance.now()
    const { result, rss } = await sampleRss(app.proc.pid!, () =>
      Promise.all(Array.from({ length: UPLOADS }, (_, i) => sendStream('PUT', `${app.url}/api/upload/c${i}.bin`, SIZE).then((r) => r.status, () => 0))),
    )
    const statuses: Record<number, number> = {}
    for (const s of result) statuses[s] = (statuses[s] ?? 0) + 1
    return { streamUploadConcurrency: Number(concurrency), statuses, seconds: round((performance.now() - started) / 1000), rssMiB: { before: rss.baselineMiB, peak: rss.peakMiB, growth: round(rss.peakMiB - rss.baselineMiB) } }
  } finally {
    await app.stop()
  }
}

async function main() {
  const s3 = await startS3()
  const pg = DB === 'postgres' ? await startPostgres() : null
  const appEnv = { ...s3.env, ...(pg ? { DATABASE_URL: pg.url } : {}) }
  try {
    const capped = await run('capped', appEnv, CAP)
    const uncapped = await run('uncapped', appEnv, '10000')
    const report = {
      bench: 'concurrent-uploads-rss',
      at: new Date().toISOString(),
      machine: { node: process.version, cpus: availableParallelism(), cpuModel: cpus()[0]?.model ?? 'unknown', loadAverage1m: round(loadavg()[0] ?? 0) },
      setup: { uploads: UPLOADS, bytesEach: SIZE, store: 's3 (s3rver)', db: DB },
      capped,
      uncapped,
      // Memory growth with the cap relative to without it (< 1: the cap bounds memory).
      growthCappedVsUncapped: round(capped.rssMiB.growth / Math.max(uncapped.rssMiB.growth, 0.1), 2),
    }
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
  } finally {
    await s3.stop()
    await pg?.stop()
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`[bench] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exit(1)
})
