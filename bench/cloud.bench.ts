/**
 * Cloud-link benchmark: prints JSON figures, asserts nothing (figures go in the README, not tests).
 *
 *   pnpm build && pnpm bench                        # 2 GiB, disk store, PGlite
 *   BENCH_SIZE=256MiB pnpm bench                    # a quick run
 *   BENCH_STORAGE=s3 BENCH_DB=postgres pnpm bench   # s3rver + a throwaway PostgreSQL
 *
 * Switches: BENCH_SIZE (2GiB), BENCH_STORAGE (disk | s3), BENCH_DB (pglite | postgres),
 * BENCH_DURATION (load test seconds, 10), BENCH_CONNECTIONS (100), BENCH_PART_SIZE (64MiB),
 * BENCH_ROUNDS (1): rounds of (d) and of (c), each alternating the app with its baseline; the
 * figures are the medians (this machine is shared: one round says little).
 *
 * (a) server RSS while a BENCH_SIZE file is streamed up (PUT /api/upload/:name, like curl -T)
 *     and down (GET /api/shares/:id/download, following the 302);
 * (b) upload throughput through the server vs. the same bytes PUT straight to storage through
 *     signed part URLs (the browser's path: S3 presigned URLs, or the disk store's signed URLs);
 * (c) download URL issuance (POST /api/shares/:id/download) under load vs. a bare express route;
 * (d) a download of a limited share (maxDownloads: the app streams it under a lease and counts it
 *     when the last byte is sent) vs. the presigned download of (a), same size, same run: throughput
 *     and server RSS.
 */
import { availableParallelism, cpus } from 'node:os'
import type { CreateShareResponse, DownloadResponse, SignPartsResponse, UploadResponse } from '../protocol/src/index'
import { parseDuration, parseSize } from '../backend/src/config'
import { startPostgres, startS3, type ServiceHandle } from '../backend/test/support/services'
import { startApp, type AppProcess } from '../test/support/app-server'
import { autocannon, startBareServer, type LoadResult } from './support/load'
import { mib, rssBytes, sampleRss } from './support/rss'
import { download, json, sendStream } from './support/streams'

// Benchmark switches: read here only, like a test's TEST_LOG_LEVEL.
const env = process.env
const SIZE = sizeOf(env.BENCH_SIZE ?? '2GiB')
const PART_SIZE = sizeOf(env.BENCH_PART_SIZE ?? '64MiB')
const STORAGE = env.BENCH_STORAGE === 's3' ? 's3' : 'disk'
const DB = env.BENCH_DB === 'postgres' ? 'postgres' : 'pglite'
const DURATION = parseDuration(env.BENCH_DURATION ?? '10') ?? 10
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 100)
const ROUNDS = Math.max(1, Number(env.BENCH_ROUNDS ?? 1))

function sizeOf(text: string): number {
  const n = parseSize(text)
  if (n === null || n <= 0) throw new Error(`not a size: ${text}`)
  return n
}

const progress = (msg: string) => process.stderr.write(`[bench] ${msg}\n`)
const perSec = (bytes: number, ms: number) => Math.round((bytes / 2 ** 20 / (ms / 1000)) * 10) / 10
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits

async function main() {
  const services: ServiceHandle[] = []
  let app: AppProcess | null = null
  try {
    const appEnv: Record<string, string> = {
      LOG_LEVEL: 'warn',
      // Limits sized for a benchmark, not for the internet.
      UPLOAD_RATE_LIMIT: '1000000/1m',
      DOWNLOAD_RATE_LIMIT: '1000000000/1m',
      PART_SIGN_RATE_LIMIT: '1000000/1m',
      MAX_FILE_SIZE: '1TiB',
      ANON_MAX_FILE_SIZE: '1TiB',
      DAILY_QUOTA: '100TiB',
      ANON_DAILY_QUOTA: '100TiB',
      PART_SIZE: String(PART_SIZE),
      // Every part URL is signed up front; a slow run must not outlive them.
      PRESIGN_TTL: '3600',
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
    app = await startApp(appEnv)
    const pid = app.proc.pid!
    const base = app.url
    progress(`server ${base} (pid ${pid}), storage ${STORAGE}, db ${DB}, ${mib(SIZE)} MiB`)

    // (a)+(b) one streamed upload through the server: throughput and server RSS.
    progress('upload through the server (PUT /api/upload/bench.bin)')
    const up = await sampleRss(pid, () => sendStream('PUT', `${base}/api/upload/bench.bin`, SIZE))
    if (up.result.status !== 201) throw new Error(`upload -> ${up.result.status}: ${up.result.body.slice(0, 500)}`)
    const uploaded = JSON.parse(up.result.body) as UploadResponse

    // (a) the same file streamed down, following the 302 to the signed URL.
    progress('download (GET /api/shares/:id/download, following the redirect)')
    const down = await sampleRss(pid, () => download(`${base}/api/shares/${uploaded.id}/download`))
    if (down.result.bytes !== SIZE) throw new Error(`downloaded ${down.result.bytes} bytes, expected ${SIZE}`)

    // (d) the same size on a limited share: issued, then streamed by the app under a lease.
    progress('limited share: upload, then the app-streamed download under a lease')
    const limitedUp = await sendStream('PUT', `${base}/api/upload/limited.bin?maxDownloads=1000`, SIZE)
    if (limitedUp.status !== 201) throw new Error(`limited upload -> ${limitedUp.status}: ${limitedUp.body.slice(0, 500)}`)
    const limited = JSON.parse(limitedUp.body) as UploadResponse
    const streamOnce = async () => {
      const issued = await json<DownloadResponse>(`${base}/api/shares/${limited.id}/download`, { method: 'POST', body: {} })
      const streamed = await sampleRss(pid, () => download(new URL(issued.url, base).toString()))
      if (streamed.result.bytes !== SIZE || streamed.result.redirects !== 0) throw new Error(`app-streamed download: ${streamed.result.bytes} bytes, ${streamed.result.redirects} redirects`)
      return streamed
    }
    const streamed = await streamOnce()
    // More rounds: the presigned download and the app-streamed one alternate, same file size.
    const rounds = [{ presignedMiBPerSec: perSec(SIZE, down.result.ms), appStreamedMiBPerSec: perSec(SIZE, streamed.result.ms) }]
    for (let i = 1; i < ROUNDS; i++) {
      progress(`download round ${i + 1} of ${ROUNDS}: presigned, then app-streamed`)
      const presigned = await download(`${base}/api/shares/${uploaded.id}/download`)
      const app = await streamOnce()
      rounds.push({ presignedMiBPerSec: perSec(SIZE, presigned.ms), appStreamedMiBPerSec: perSec(SIZE, app.result.ms) })
    }

    // (b) the same byte count straight to storage through signed part URLs.
    progress('direct upload through signed part URLs')
    const direct = await directUpload(base, SIZE)

    // (c) download URL issuance under load, next to a bare express route.
    progress(`presign load: ${CONNECTIONS} connections for ${DURATION}s`)
    const small = await sendStream('PUT', `${base}/api/upload/small.txt`, 1024)
    const smallShare = JSON.parse(small.body) as UploadResponse
    if (small.status !== 201 || smallShare.maxDownloads !== null) throw new Error(`small upload: ${small.status} ${small.body}`)
    // One call by hand first: a load test of error answers would measure nothing.
    await json<DownloadResponse>(`${base}/api/shares/${smallShare.id}/download`, { method: 'POST', body: {} })
    const issuance = () =>
      autocannon(`${base}/api/shares/${smallShare.id}/download`, {
        connections: CONNECTIONS,
        seconds: DURATION,
        method: 'POST',
        body: '{}',
        headers: { 'content-type': 'application/json' },
      })
    const presignRounds: LoadResult[] = []
    const bareRounds: LoadResult[] = []
    const bareServer = await startBareServer()
    try {
      for (let i = 0; i < ROUNDS; i++) {
        if (i > 0) progress(`presign load round ${i + 1} of ${ROUNDS}`)
        presignRounds.push(await issuance())
        progress(`bare express route: ${CONNECTIONS} connections for ${DURATION}s`)
        bareRounds.push(await autocannon(`${bareServer.url}/bare`, { connections: CONNECTIONS, seconds: DURATION }))
      }
    } finally {
      await bareServer.stop()
    }
    const appRssAfterLoad = mib(rssBytes(pid) ?? 0)
    const presign = medianLoad(presignRounds)
    const bare = medianLoad(bareRounds)

    const uploadServer = { seconds: round(up.result.ms / 1000), mibPerSec: perSec(SIZE, up.result.ms) }
    const report = {
      bench: 'cloud',
      at: new Date().toISOString(),
      machine: { node: process.version, cpus: availableParallelism(), cpuModel: cpus()[0]?.model ?? 'unknown' },
      setup: { storage: STORAGE, db: DB, sizeBytes: SIZE, sizeMiB: mib(SIZE), partSizeMiB: mib(PART_SIZE) },
      serverRss: {
        upload: { ...up.rss, growthMiB: round(up.rss.peakMiB - up.rss.baselineMiB, 1) },
        download: { ...down.rss, growthMiB: round(down.rss.peakMiB - down.rss.baselineMiB, 1) },
      },
      upload: {
        throughServer: uploadServer,
        directToStorage: direct,
        // >1: the server path is faster than the direct one; <1: what streaming through costs.
        serverToDirectRatio: round(uploadServer.mibPerSec / direct.mibPerSec),
      },
      download: { seconds: round(down.result.ms / 1000), mibPerSec: perSec(SIZE, down.result.ms), redirects: down.result.redirects },
      limitedDownload: {
        appStreamed: { seconds: round(streamed.result.ms / 1000), mibPerSec: perSec(SIZE, streamed.result.ms) },
        // >= 1: streaming under a lease costs nothing next to the presigned download above
        appStreamedToPresignedRatio: round(perSec(SIZE, streamed.result.ms) / perSec(SIZE, down.result.ms)),
        // BENCH_ROUNDS > 1: each round's pair, and the median ratio of the pairs
        rounds,
        medianRatio: round(median(rounds.map((r) => r.appStreamedMiBPerSec / r.presignedMiBPerSec))),
        serverRss: { ...streamed.rss, growthMiB: round(streamed.rss.peakMiB - streamed.rss.baselineMiB, 1) },
      },
      presignedDownload: {
        connections: CONNECTIONS,
        seconds: DURATION,
        // medians over BENCH_ROUNDS rounds, each the app then the bare route
        rounds: ROUNDS,
        app: presign,
        bareExpress: bare,
        appToBareRatio: round(presign.requestsPerSec / bare.requestsPerSec),
        appRssAfterLoadMiB: appRssAfterLoad,
      },
    }
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
  } catch (err) {
    // The server's own account of the failure is the useful part.
    if (app) progress(`server output (last 4000 chars):\n${app.output().slice(-4000)}`)
    throw err
  } finally {
    await app?.stop()
    for (const s of services.reverse()) await s.stop()
  }
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? 0
}

/** Each figure's median over the rounds (requests and errors: summed). */
function medianLoad(rounds: LoadResult[]): LoadResult {
  return {
    requestsPerSec: median(rounds.map((r) => r.requestsPerSec)),
    p50Ms: median(rounds.map((r) => r.p50Ms)),
    p99Ms: median(rounds.map((r) => r.p99Ms)),
    requests: rounds.reduce((n, r) => n + r.requests, 0),
    non2xx: rounds.reduce((n, r) => n + r.non2xx, 0),
    errors: rounds.reduce((n, r) => n + r.errors, 0),
    timeouts: rounds.reduce((n, r) => n + r.timeouts, 0),
  }
}

/** The browser's path: create a share, sign every part, PUT them in order, complete, finalize. */
async function directUpload(base: string, size: number) {
  const started = performance.now()
  const created = await json<CreateShareResponse>(`${base}/api/shares`, {
    method: 'POST',
    body: { files: [{ name: 'direct.bin', size, type: 'application/octet-stream' }] },
  })
  const file = created.files[0]!
  const owner = { 'x-owner-token': created.ownerToken ?? '' }
  const partNumbers = Array.from({ length: file.partCount }, (_, i) => i + 1)
  const urls = new Map<number, string>()
  for (let i = 0; i < partNumbers.length; i += 1000) {
    const signed = await json<SignPartsResponse>(`${base}/api/shares/${created.id}/files/${file.id}/parts`, {
      method: 'POST',
      headers: owner,
      body: { partNumbers: partNumbers.slice(i, i + 1000) },
    })
    for (const p of signed.parts) urls.set(p.partNumber, new URL(p.url, base).toString())
  }
  const transferStart = performance.now()
  const parts: { partNumber: number; etag: string }[] = []
  for (const partNumber of partNumbers) {
    const bytes = Math.min(file.partSize, size - (partNumber - 1) * file.partSize)
    const res = await sendStream('PUT', urls.get(partNumber)!, bytes)
    const etag = res.headers.etag
    if (res.status !== 200 || typeof etag !== 'string') throw new Error(`part ${partNumber} -> ${res.status}: ${res.body.slice(0, 300)}`)
    parts.push({ partNumber, etag })
  }
  const transferMs = performance.now() - transferStart
  await json(`${base}/api/shares/${created.id}/files/${file.id}/complete`, { method: 'POST', headers: owner, body: { parts } })
  await json(`${base}/api/shares/${created.id}/finalize`, { method: 'POST', headers: owner })
  const totalMs = performance.now() - started
  return {
    seconds: round(totalMs / 1000),
    mibPerSec: perSec(size, totalMs),
    partTransferMiBPerSec: perSec(size, transferMs),
    parts: file.partCount,
    partSizeMiB: mib(file.partSize),
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`[bench] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exit(1)
})
