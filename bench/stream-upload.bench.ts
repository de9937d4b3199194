/**
 * Streamed uploads and memory: prints JSON figures, asserts nothing.
 *
 *   pnpm build && pnpm bench:uploads                      # 1 GiB, the embedded default (PGlite + disk)
 *   BENCH_SIZE=256MiB pnpm bench:uploads                  # a quick run
 *   BENCH_STORAGE=s3 BENCH_DB=postgres pnpm bench:uploads # s3rver + a throwaway PostgreSQL
 *   BENCH_NODE_ARGS='--max-semi-space-size=2' pnpm bench:uploads   # node flags for the server
 *   BENCH_MAIN=/path/to/other/dist/main.js pnpm bench:uploads    # another build's server
 *
 * The server's RSS (sampled from /proc every 100 ms) while a BENCH_SIZE file goes through it the
 * ways curl sends one: `curl -T` with a length, `curl -T -` (chunked, no length), `curl -F file=@x`
 * (a multipart form, chunked), then the download of that file. In the same run, the bare mechanism:
 * node's http writing a PUT body to a file and reading it back (support/bare-upload-server.mjs),
 * measured the same way. Idle figures are after one small upload, so the database is warm.
 */
import { randomBytes } from 'node:crypto'
import { request } from 'node:http'
import { availableParallelism, cpus } from 'node:os'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { UploadResponse } from '../protocol/src/index'
import { parseSize } from '../backend/src/config'
import { startPostgres, startS3, type ServiceHandle } from '../backend/test/support/services'
import { startApp, type AppProcess } from '../test/support/app-server'
import { startBareServer } from './support/load'
import { mib, rssBytes, sampleRss } from './support/rss'
import { download, generatedBytes } from './support/streams'

// Benchmark switches: read here only, like a test's TEST_LOG_LEVEL.
const env = process.env
const SIZE = sizeOf(env.BENCH_SIZE ?? '1GiB')
const STORAGE = env.BENCH_STORAGE === 's3' ? 's3' : 'disk'
const DB = env.BENCH_DB === 'postgres' ? 'postgres' : 'pglite'

function sizeOf(text: string): number {
  const n = parseSize(text)
  if (n === null || n <= 0) throw new Error(`not a size: ${text}`)
  return n
}

const progress = (msg: string) => process.stderr.write(`[bench] ${msg}\n`)
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits

type Body = { length: number | null; contentType: string; stream: () => Readable }

/** The raw file, as `curl -T file` (with a length) or `curl -T -` (chunked). */
const raw = (size: number, chunked: boolean): Body => ({
  length: chunked ? null : size,
  contentType: 'application/octet-stream',
  stream: () => generatedBytes(size),
})

/** A multipart form with one file field, as `curl -F file=@bench.bin`, sent chunked. */
function form(size: number): Body & { boundary: string } {
  const boundary = `----bench${randomBytes(8).toString('hex')}`
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="bench.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  )
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`)
  return {
    boundary,
    length: null,
    contentType: `multipart/form-data; boundary=${boundary}`,
    stream: () =>
      Readable.from(
        (async function* () {
          yield head
          yield* generatedBytes(size)
          yield tail
        })(),
        { objectMode: false },
      ),
  }
}

/** Sends a body and reads the answer; resolves with status, answer and milliseconds. */
function send(method: 'PUT' | 'POST', url: string, body: Body): Promise<{ status: number; body: string; ms: number }> {
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'content-type': body.contentType }
    if (body.length !== null) headers['content-length'] = String(body.length)
    const req = request(url, { method, agent: false, headers })
    req.once('error', reject)
    req.once('response', (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.once('error', reject)
      res.once('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - started }),
      )
    })
    pipeline(body.stream(), req).catch(() => undefined)
  })
}

/** One transfer's figures: RSS before, at peak and growth, and the speed. */
async function measure<T extends { ms: number }>(pid: number, work: () => Promise<T>) {
  const { result, rss } = await sampleRss(pid, work)
  return { ...rss, growthMiB: round(rss.peakMiB - rss.baselineMiB), mibPerSec: round(SIZE / 2 ** 20 / (result.ms / 1000)), result }
}

async function main() {
  const services: ServiceHandle[] = []
  let app: AppProcess | null = null
  const bare = await startBareServer('./bare-upload-server.mjs')
  try {
    const appEnv: Record<string, string> = {
      LOG_LEVEL: 'warn',
      // Limits sized for a benchmark, not for the internet.
      UPLOAD_RATE_LIMIT: '1000000/1m',
      DOWNLOAD_RATE_LIMIT: '1000000000/1m',
      MAX_FILE_SIZE: '1TiB',
      ANON_MAX_FILE_SIZE: '1TiB',
      DAILY_QUOTA: '100TiB',
      ANON_DAILY_QUOTA: '100TiB',
    }
    if (STORAGE === 's3') {
      const s3 = await startS3('bench')
      services.push(s3)
      Object.assign(appEnv, s3.env)
    }
    if (DB === 'postgres') {
      const pg = await startPostgres()
      services.push(pg)
      appEnv.DATABASE_URL = pg.url
    }
    app = await startApp(appEnv, { nodeArgs: (env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean), ...(env.BENCH_MAIN ? { main: env.BENCH_MAIN } : {}) })
    const pid = app.proc.pid!
    const base = app.url
    progress(`server ${base} (pid ${pid}), storage ${STORAGE}, db ${DB}, ${mib(SIZE)} MiB`)

    const idleStartMiB = mib(rssBytes(pid) ?? 0)
    const warm = await send('PUT', `${base}/api/upload/warm.txt`, raw(1024, false))
    if (warm.status !== 201) throw new Error(`warm-up upload -> ${warm.status}: ${warm.body.slice(0, 300)}`)
    const idleMiB = mib(rssBytes(pid) ?? 0)

    const upload = async (name: string, method: 'PUT' | 'POST', url: string, body: Body) => {
      progress(name)
      const m = await measure(pid, () => send(method, url, body))
      if (m.result.status !== 201) throw new Error(`${name} -> ${m.result.status}: ${m.result.body.slice(0, 500)}`)
      const { result, ...figures } = m
      return { figures, share: JSON.parse(result.body) as UploadResponse }
    }
    const withLength = await upload('curl -T (Content-Length)', 'PUT', `${base}/api/upload/bench.bin`, raw(SIZE, false))
    const chunked = await upload('curl -T - (chunked)', 'PUT', `${base}/api/upload/bench.bin`, raw(SIZE, true))
    const multipart = await upload('curl -F file=@ (multipart, chunked)', 'POST', `${base}/api/upload`, form(SIZE))
    progress('download (GET /api/shares/:id/download, following the redirect)')
    const down = await measure(pid, () => download(`${base}/api/shares/${withLength.share.id}/download`))
    if (down.result.bytes !== SIZE) throw new Error(`downloaded ${down.result.bytes} bytes, expected ${SIZE}`)
    const { result: _downResult, ...downFigures } = down

    const barePid = bare.proc.pid!
    const bareIdleMiB = mib(rssBytes(barePid) ?? 0)
    progress('bare: PUT into a file')
    const bareUp = await measure(barePid, () => send('PUT', `${bare.url}/`, raw(SIZE, false)))
    if (bareUp.result.status !== 201) throw new Error(`bare upload -> ${bareUp.result.status}`)
    progress('bare: GET from the file')
    const bareDown = await measure(barePid, () => download(`${bare.url}/`))
    const strip = <T extends { result: unknown }>({ result: _r, ...rest }: T) => rest

    const peak = Math.max(withLength.figures.peakMiB, chunked.figures.peakMiB, multipart.figures.peakMiB, downFigures.peakMiB)
    const report = {
      bench: 'stream-upload',
      at: new Date().toISOString(),
      machine: { node: process.version, cpus: availableParallelism(), cpuModel: cpus()[0]?.model ?? 'unknown' },
      setup: { storage: STORAGE, db: DB, sizeBytes: SIZE, sizeMiB: mib(SIZE) },
      app: {
        idleAtStartMiB: idleStartMiB,
        idleMiB,
        uploadWithLength: withLength.figures,
        uploadChunked: chunked.figures,
        uploadMultipartForm: multipart.figures,
        download: downFigures,
        peakMiB: peak,
      },
      bare: { idleMiB: bareIdleMiB, upload: strip(bareUp), download: strip(bareDown) },
      // What the app costs on top of the bare mechanism, same run: extra peak MiB and speed ratio.
      compared: {
        uploadGrowthOverBareMiB: round(withLength.figures.growthMiB - bareUp.growthMiB),
        downloadGrowthOverBareMiB: round(downFigures.growthMiB - bareDown.growthMiB),
        uploadSpeedToBare: round(withLength.figures.mibPerSec / bareUp.mibPerSec, 2),
        downloadSpeedToBare: round(downFigures.mibPerSec / bareDown.mibPerSec, 2),
      },
    }
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
  } catch (err) {
    if (app) progress(`server output (last 4000 chars):\n${app.output().slice(-4000)}`)
    throw err
  } finally {
    await app?.stop()
    await bare.stop()
    for (const s of services.reverse()) await s.stop()
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`[bench] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exit(1)
})
