import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { curl, randomFile } from './support/files'
import { startTestServer, type TestServer } from './support/harness'
import { createDatabase, startPostgres, startS3, type ServiceHandle } from './support/services'
import { mountTmpfs } from './support/tmpfs'
import { uploadsSuite, walk } from './uploads.suite'

const MiB = 2 ** 20

let pg: ServiceHandle
let s3: Awaited<ReturnType<typeof startS3>>
beforeAll(async () => {
  ;[pg, s3] = await Promise.all([startPostgres(), startS3()])
})
afterAll(async () => {
  await Promise.all([pg?.stop(), s3?.stop()])
})

uploadsSuite('PGlite + disk store', async () => ({}))
uploadsSuite('PostgreSQL + S3 (s3rver)', async () => ({ DATABASE_URL: await createDatabase(pg.url, 'uploads_s3'), ...s3.env }))

describe('a full disk', () => {
  it('answers 507 insufficient_storage with a clear message to curl and browser uploads, keeps nothing and counts nothing', async (ctx) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sharesync-full-disk-'))
    // The blobs live on a 4 MiB filesystem (the database stays on the big one).
    const mounted = mountTmpfs(join(dataDir, 'blobs'), 4 * MiB)
    if ('error' in mounted) {
      rmSync(dataDir, { recursive: true, force: true })
      ctx.skip(mounted.error)
      return
    }
    const server = await startTestServer({ DATA_DIR: dataDir, DATABASE_URL: await createDatabase(pg.url, 'uploads_full_disk'), PART_SIZE: '5MiB', UPLOAD_RATE_LIMIT: '1000/1h' })
    try {
      const blobs = join(dataDir, 'blobs')
      // One small upload that fits: it tells which key this client's limits count on.
      const fits = JSON.parse((await curl(['-T', randomFile(10).path, `${server.url}/api/upload/fits.bin`])).body) as { id: string }
      const [{ client_key: clientKey } = { client_key: '' }] = await server.deps.db.query<{ client_key: string }>('SELECT client_key FROM shares WHERE id = $1', [fits.id])
      const used = async () => {
        const live = await server.deps.settings.policy()
        const quota = await server.deps.limits.consume('anonQuota', clientKey, 0, { points: live.anonymous.dailyQuota, seconds: 86_400 })
        const rate = await server.deps.limits.consume('upload', clientKey, 0, live.uploadRateLimit)
        return { quota: quota.limit - quota.remaining, uploads: rate.limit - rate.remaining }
      }
      const count = async () => (await server.deps.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM shares`))[0]!.n
      const before = { shares: await count(), blobs: walk(blobs), used: await used() }

      for (const args of [
        ['-T', randomFile(6 * MiB).path, `${server.url}/api/upload/big.bin`],
        ['-F', `file=@${randomFile(6 * MiB).path}`, `${server.url}/api/upload`],
      ]) {
        const r = await curl(args)
        expect(r.status, args[0]).toBe(507)
        expect(JSON.parse(r.body).error).toEqual({ code: 'insufficient_storage', message: expect.stringMatching(/run out of storage space/) })
        expect(await count()).toBe(before.shares)
        expect(walk(blobs)).toEqual(before.blobs)
        // Our failure, not the client's: neither the upload nor its bytes count.
        expect(await used()).toEqual(before.used)
      }

      // A browser part that does not fit.
      const created = await server.fetch('/api/shares', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ files: [{ name: 'a.bin', size: 10 * MiB }] }) })
      const share = (await created.json()) as { id: string; ownerToken: string; files: { id: string }[] }
      const signed = await server.fetch(`/api/shares/${share.id}/files/${share.files[0]!.id}/parts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-owner-token': share.ownerToken },
        body: JSON.stringify({ partNumbers: [1, 2] }),
      })
      const { parts } = (await signed.json()) as { parts: { url: string }[] }
      const first = await fetch(parts[0]!.url, { method: 'PUT', body: new Uint8Array(randomFile(5 * MiB).bytes) })
      expect(first.status).toBe(507)
      expect(((await first.json()) as { error: { code: string } }).error.code).toBe('insufficient_storage')
      expect(readdirSync(join(blobs, 'tmp'))).toEqual([])
      // The upload is intact: once there is room, its parts are accepted.
      const small = await fetch(parts[1]!.url, { method: 'PUT', body: new Uint8Array(randomFile(5 * MiB).bytes.subarray(0, MiB)) })
      expect(small.status).toBe(200)
    } finally {
      await server.close()
      mounted.unmount()
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})

describe('streaming uploads per instance are capped', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer({ STREAM_UPLOAD_CONCURRENCY: '1', STREAM_UPLOAD_QUEUE_WAIT: '1s', UPLOAD_RATE_LIMIT: '1000/1h', DATABASE_URL: await createDatabase(pg.url, 'uploads_cap') })
  })
  afterAll(() => server?.close())

  it('over the cap, a curl upload waits for a turn, then gets 429 server_busy with Retry-After; the running one is unharmed', async () => {
    const slow = randomFile(3 * MiB, 'slow.bin')
    const running = curl(['--limit-rate', '1M', '-T', slow.path, `${server.url}/api/upload/slow.bin`])
    // Wait until the slow upload holds the one slot (its share row exists).
    for (let i = 0; i < 250; i++) {
      const [row] = await server.deps.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM shares WHERE status = 'uploading'`)
      if (row!.n > 0) break
      await new Promise((r) => setTimeout(r, 20))
    }
    const refused = await curl(['-T', randomFile(1000).path, `${server.url}/api/upload/second.bin`])
    expect(refused.status).toBe(429)
    expect(JSON.parse(refused.body).error.code).toBe('server_busy')
    expect(Number(/retry-after: (\d+)/i.exec(refused.headers)?.[1])).toBeGreaterThan(0)
    expect((await running).status).toBe(201)
    // The slot is free again.
    expect((await curl(['-T', randomFile(1000).path, `${server.url}/api/upload/third.bin`])).status).toBe(201)
  })
})
