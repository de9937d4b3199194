/**
 * Uploads that can be trusted, written once and run against each pairing of database and store:
 * the upload state route, precise conflict codes, part sizes bound to the declared size, quotas
 * charged as bytes arrive, options applied before a share is visible, and complete/finalize safe to
 * repeat. Real server over HTTP, real curl, real storage.
 */
import { spawn } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { Transform, type Readable } from 'node:stream'
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import type { UploadState } from '@sharesync/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BlobStore } from '../src/storage/blob-store'
import { curl, randomFile, sha256 } from './support/files'
import { startTestServer, type TestServer } from './support/harness'

const MiB = 2 ** 20

type Json = Record<string, unknown> & { error?: { code: string; message: string } }

export function uploadsSuite(name: string, env: () => Promise<Record<string, string>>) {
  describe(`uploads on ${name}`, () => {
    let server: TestServer
    let s3: S3Client | null = null
    let bucket = ''
    let clientKey = ''

    beforeAll(async () => {
      const e = await env()
      server = await startTestServer({ PART_SIZE: '5MiB', MAX_FILE_SIZE: '64MiB', UPLOAD_RATE_LIMIT: '1000/1h', PART_SIGN_RATE_LIMIT: '400/1m', ...e })
      if (e.STORAGE === 's3') {
        s3 = new S3Client({ endpoint: e.S3_ENDPOINT, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: e.S3_ACCESS_KEY_ID!, secretAccessKey: e.S3_SECRET_ACCESS_KEY! } })
        bucket = e.S3_BUCKET!
      }
      // The key this test client's limits count on (its address, as the server sees it).
      const { id } = JSON.parse((await curl(['-F', `file=@${randomFile(1).path}`, `${server.url}/api/upload`])).body) as { id: string }
      const [row] = await server.deps.db.query<{ client_key: string }>('SELECT client_key FROM shares WHERE id = $1', [id])
      clientKey = row!.client_key
    })
    afterAll(async () => {
      s3?.destroy()
      await server?.close()
    })

    const isS3 = () => server.deps.store.kind === 's3'
    const json = async (path: string, init: RequestInit & { body?: string } = {}) => {
      const res = await server.fetch(path, { ...init, headers: { 'content-type': 'application/json', ...(init.headers ?? {}) } })
      return { status: res.status, body: (await res.json().catch(() => null)) as Json, res }
    }

    interface Created {
      id: string
      ownerToken: string
      owner: Record<string, string>
      files: { id: string; partSize: number; partCount: number }[]
    }
    const create = async (sizes: number[]): Promise<Created> => {
      const r = await json('/api/shares', { method: 'POST', body: JSON.stringify({ files: sizes.map((size, i) => ({ name: `f${i}.bin`, size })) }) })
      expect(r.status, JSON.stringify(r.body)).toBe(201)
      const body = r.body as unknown as Omit<Created, 'owner'>
      return { ...body, owner: { 'x-owner-token': body.ownerToken } }
    }
    const state = async (c: Created) => {
      const r = await json(`/api/shares/${c.id}/upload`, { headers: c.owner })
      expect(r.status, JSON.stringify(r.body)).toBe(200)
      return r.body as unknown as UploadState
    }
    const sign = async (c: Created, file: number, partNumbers: number[]) => {
      const r = await json(`/api/shares/${c.id}/files/${c.files[file]!.id}/parts`, { method: 'POST', headers: c.owner, body: JSON.stringify({ partNumbers }) })
      expect(r.status, JSON.stringify(r.body)).toBe(200)
      return r.body.parts as { partNumber: number; url: string }[]
    }
    const put = async (url: string, bytes: Buffer) => {
      const res = await fetch(url, { method: 'PUT', body: new Uint8Array(bytes) })
      return { status: res.status, etag: res.headers.get('etag') ?? '', body: await res.text() }
    }
    const complete = (c: Created, file: number, parts: { partNumber: number; etag: string }[] = []) =>
      json(`/api/shares/${c.id}/files/${c.files[file]!.id}/complete`, { method: 'POST', headers: c.owner, body: JSON.stringify({ parts }) })
    const finalize = (c: Created) => json(`/api/shares/${c.id}/finalize`, { method: 'POST', headers: c.owner, body: '{}' })
    /** Uploads every part of a file, returns their ETags. */
    const sendAll = async (c: Created, file: number, bytes: Buffer) => {
      const f = c.files[file]!
      const urls = await sign(c, file, Array.from({ length: f.partCount }, (_, i) => i + 1))
      const parts = []
      for (const { partNumber, url } of urls) {
        const r = await put(url, bytes.subarray((partNumber - 1) * f.partSize, partNumber * f.partSize))
        expect(r.status, r.body).toBe(200)
        parts.push({ partNumber, etag: r.etag })
      }
      return parts
    }

    /** What storage holds: object keys (S3) or files (disk), so "nothing left" can be checked. */
    const stored = async (): Promise<string[]> => {
      if (!s3) return walk(join(server.dataDir, 'blobs'))
      const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket }))
      return (out.Contents ?? []).map((o) => o.Key!).sort()
    }
    const rows = async () => {
      const [row] = await server.deps.db.query<{ shares: number; files: number }>(`SELECT (SELECT count(*) FROM shares)::int AS shares, (SELECT count(*) FROM files)::int AS files`)
      return row
    }
    const policy = () => server.deps.settings.policy()
    /** Quota bytes and upload rate points this client has used (consuming 0 reads the counters). */
    const used = async () => {
      const live = await policy()
      const quota = await server.deps.limits.consume('anonQuota', clientKey, 0, { points: live.anonymous.dailyQuota, seconds: 86_400 })
      const rate = await server.deps.limits.consume('upload', clientKey, 0, live.uploadRateLimit)
      return { quota: quota.limit - quota.remaining, uploads: rate.limit - rate.remaining }
    }
    const withQuota = async (dailyQuota: number, work: () => Promise<void>) => {
      const live = await policy()
      await server.deps.limits.reset('anonQuota', clientKey)
      await server.deps.settings.save({ ...live, anonymous: { ...live.anonymous, dailyQuota } }, 'test')
      try {
        await work()
      } finally {
        await server.deps.settings.save(live, 'test')
        await server.deps.limits.reset('anonQuota', clientKey)
      }
    }
    /** Counts the bytes storage is handed by curl uploads (the real store still stores them). */
    const countStoredBytes = async <T>(work: () => Promise<T>): Promise<{ result: T; bytes: number }> => {
      const store = server.deps.store as BlobStore
      const original = store.put.bind(store)
      let bytes = 0
      store.put = (key, body, opts) => {
        const counting = new Transform({
          transform(chunk: Buffer, _e, cb) {
            bytes += chunk.length
            cb(null, chunk)
          },
        })
        body.once('error', (err) => counting.destroy(err))
        return original(key, body.pipe(counting) as Readable, opts)
      }
      try {
        return { result: await work(), bytes }
      } finally {
        store.put = original
      }
    }

    it('the upload state answers correctly at every step, from nothing sent to finalized', async () => {
      const size = 11 * MiB + 5
      const file = randomFile(size)
      const c = await create([size, 0])
      const [big, empty] = c.files
      expect(await state(c)).toEqual({
        id: c.id,
        status: 'uploading',
        files: [
          { id: big!.id, size, partSize: 5 * MiB, partCount: 3, completed: false, parts: [] },
          { id: empty!.id, size: 0, partSize: 5 * MiB, partCount: 0, completed: false, parts: [] },
        ],
      })
      const urls = await sign(c, 0, [1, 2, 3])
      const p1 = await put(urls[0]!.url, file.bytes.subarray(0, 5 * MiB))
      const p3 = await put(urls[2]!.url, file.bytes.subarray(10 * MiB))
      const s1 = await state(c)
      expect(s1.files[0]!.parts.map((p) => [p.partNumber, p.size])).toEqual([
        [1, 5 * MiB],
        [3, MiB + 5],
      ])
      expect(s1.files[0]!.parts.map((p) => p.etag.replace(/"/g, ''))).toEqual([p1.etag.replace(/"/g, ''), p3.etag.replace(/"/g, '')])
      expect((await complete(c, 0)).body.error?.code).toBe('upload_incomplete')
      expect((await state(c)).files[0]!.completed).toBe(false)

      await put(urls[1]!.url, file.bytes.subarray(5 * MiB, 10 * MiB))
      expect((await complete(c, 0)).body).toEqual({ size })
      expect((await state(c)).files[0]).toMatchObject({ completed: true, parts: [] })
      // Every file must be complete before the link can work.
      expect((await finalize(c)).body.error?.code).toBe('upload_incomplete')
      expect((await state(c)).status).toBe('uploading')
      expect((await complete(c, 1)).body).toEqual({ size: 0 })
      const ready = await state(c)
      expect(ready.status).toBe('uploading')
      expect(ready.files.map((f) => f.completed)).toEqual([true, true])
      expect((await finalize(c)).status).toBe(200)
      const done = await state(c)
      expect(done.status).toBe('finalized')
      expect(done.files.map((f) => [f.completed, f.parts.length])).toEqual([
        [true, 0],
        [true, 0],
      ])
      const meta = await json(`/api/shares/${c.id}`)
      expect((meta.body.files as unknown[]).length).toBe(2)
    })

    it('nobody but the owner reads or drives an upload: no token, a wrong one, another share\'s → 403; unknown or malformed ids → 404', async () => {
      const mine = await create([100])
      const theirs = await create([100])
      const fileId = mine.files[0]!.id
      const routes = (id: string, fid: string): [string, RequestInit & { body?: string }][] => [
        [`/api/shares/${id}/upload`, {}],
        [`/api/shares/${id}/files/${fid}/parts`, { method: 'POST', body: '{"partNumbers":[1]}' }],
        [`/api/shares/${id}/files/${fid}/parts`, {}],
        [`/api/shares/${id}/files/${fid}/complete`, { method: 'POST', body: '{"parts":[]}' }],
        [`/api/shares/${id}/finalize`, { method: 'POST', body: '{}' }],
      ]
      for (const headers of [{}, { 'x-owner-token': 'not-the-token' }, theirs.owner, { 'x-owner-token': 'x'.repeat(10_000) }]) {
        for (const [path, init] of routes(mine.id, fileId)) {
          const r = await json(path, { ...init, headers })
          expect(r.status, `${init.method ?? 'GET'} ${path}`).toBe(403)
          expect(JSON.stringify(r.body)).not.toContain(fileId)
        }
      }
      // Their token on their share with my file id: not a file of that share.
      const crossed = await json(`/api/shares/${theirs.id}/files/${fileId}/parts`, { method: 'POST', headers: theirs.owner, body: '{"partNumbers":[1]}' })
      expect(crossed.status).toBe(404)
      for (const id of ['AAAAAAAAAAAAAAAAAAAAAA', 'not-an-id', 'a'.repeat(2000), '..%2F..%2Fetc', '%F0%9F%93%A6']) {
        const r = await json(`/api/shares/${id}/upload`, { headers: mine.owner })
        expect(r.status, id).toBeLessThan(500)
        expect([400, 404], id).toContain(r.status)
      }
      // The owner's state is untouched by all of the above.
      expect((await state(mine)).files[0]).toMatchObject({ completed: false, parts: [] })
    })

    it('each conflict has its own code: file_completed, share_finalized, part_mismatch; replays of complete and finalize answer the same', async () => {
      const size = 5 * MiB + 10
      const file = randomFile(size)
      const c = await create([size])
      const parts = await sendAll(c, 0, file.bytes)

      // A wrong ETag, then a part that holds fewer bytes than its place in the file.
      const wrong = await complete(c, 0, [{ partNumber: 1, etag: `"${'0'.repeat(32)}"` }, parts[1]!])
      expect([wrong.status, wrong.body.error?.code]).toEqual([409, 'part_mismatch'])
      const [p1] = await sign(c, 0, [1])
      expect((await put(p1!.url, file.bytes.subarray(0, 5 * MiB - 1))).status).toBe(200)
      const short = await complete(c, 0)
      expect([short.status, short.body.error?.code]).toEqual([409, 'part_mismatch'])
      expect(short.body.error?.message).toMatch(/Part 1 holds/)
      const again = await put(p1!.url, file.bytes.subarray(0, 5 * MiB))
      expect((await complete(c, 0, [{ partNumber: 1, etag: again.etag }, parts[1]!])).body).toEqual({ size })
      // Replayed: the same answer, nothing changes.
      expect((await complete(c, 0, [{ partNumber: 1, etag: again.etag }, parts[1]!])).body).toEqual({ size })

      const afterComplete = await json(`/api/shares/${c.id}/files/${c.files[0]!.id}/parts`, { method: 'POST', headers: c.owner, body: '{"partNumbers":[1]}' })
      expect([afterComplete.status, afterComplete.body.error?.code]).toEqual([409, 'file_completed'])
      const listed = await json(`/api/shares/${c.id}/files/${c.files[0]!.id}/parts`, { headers: c.owner })
      expect(listed.body.error?.code).toBe('file_completed')

      const first = await finalize(c)
      expect(first.status).toBe(200)
      const replay = await finalize(c)
      expect([replay.status, replay.body.id, replay.body.url]).toEqual([200, first.body.id, first.body.url])
      const afterFinalize = await json(`/api/shares/${c.id}/files/${c.files[0]!.id}/parts`, { method: 'POST', headers: c.owner, body: '{"partNumbers":[1]}' })
      expect([afterFinalize.status, afterFinalize.body.error?.code]).toEqual([409, 'share_finalized'])
      expect((await complete(c, 0)).body).toEqual({ size })
      const dl = await fetch(`${server.url}/api/shares/${c.id}/download`)
      expect(sha256(Buffer.from(await dl.arrayBuffer()))).toBe(file.sha256)
    })

    it('hostile part numbers, sizes and bodies are refused with 400 and nothing is signed', async () => {
      const c = await create([5 * MiB + 1])
      const path = `/api/shares/${c.id}/files/${c.files[0]!.id}`
      const bodies: unknown[] = [
        { partNumbers: [0] },
        { partNumbers: [-1] },
        { partNumbers: [3] },
        { partNumbers: [10_001] },
        { partNumbers: [1.5] },
        { partNumbers: ['1'] },
        { partNumbers: [] },
        { partNumbers: Array.from({ length: 1001 }, () => 1) },
        { partNumbers: [2 ** 53] },
        { partNumbers: 1 },
        { __proto__: { partNumbers: [1] } },
        [],
      ]
      for (const body of bodies) {
        const r = await json(`${path}/parts`, { method: 'POST', headers: c.owner, body: JSON.stringify(body) })
        expect(r.status, JSON.stringify(body).slice(0, 60)).toBe(400)
      }
      for (const parts of [[{ partNumber: 0, etag: 'x' }], [{ partNumber: 1, etag: 'x'.repeat(201) }], [{ partNumber: 1 }], 'x']) {
        const r = await json(`${path}/complete`, { method: 'POST', headers: c.owner, body: JSON.stringify({ parts }) })
        expect(r.status, JSON.stringify(parts).slice(0, 60)).toBe(400)
      }
      const notJson = await json(`${path}/parts`, { method: 'POST', headers: c.owner, body: '{"partNumbers": [1' })
      expect(notJson.status).toBe(400)
      expect((await state(c)).files[0]!.parts).toEqual([])
    })

    it('a 1-byte declared file refuses a 16 MiB part with 413, and nothing of it is kept', async () => {
      const c = await create([1])
      const [part] = await sign(c, 0, [1])
      const url = new URL(part!.url)
      const before = await stored()
      const big = await put(part!.url, randomFile(16 * MiB).bytes)
      if (!isS3()) {
        // The disk store counts the bytes as they arrive.
        expect(big.status).toBe(413)
        expect(JSON.parse(big.body)).toMatchObject({ error: { code: 'too_large' } })
        expect(await stored()).toEqual(before)
        expect((await state(c)).files[0]!.parts).toEqual([])
        return
      }
      // S3 is given the part's length in the signature; s3rver does not check signatures, so the
      // server refuses the part when the file is completed, and drops the whole upload.
      expect(url.searchParams.get('X-Amz-SignedHeaders')).toContain('content-length')
      const done = await complete(c, 0)
      expect([done.status, done.body.error?.code]).toEqual([413, 'too_large'])
      expect(await stored()).toEqual(before)
      const [row] = await server.deps.db.query<{ storage_key: string; upload_id: string }>('SELECT storage_key, upload_id FROM files WHERE id = $1', [c.files[0]!.id])
      await expect(server.deps.store.listParts(row!.storage_key, row!.upload_id)).rejects.toMatchObject({ code: 'not_found' })
      expect((await json(`/api/shares/${c.id}`)).status).toBe(404)
    })

    it('complete is safe to repeat: twice at once, and after a crash between storage\'s completion and the database update', async () => {
      const size = 5 * MiB + 99
      const file = randomFile(size)
      const together = await create([size])
      const parts = await sendAll(together, 0, file.bytes)
      const both = await Promise.all([complete(together, 0, parts), complete(together, 0, parts)])
      expect(both.map((r) => [r.status, r.body.size])).toEqual([
        [200, size],
        [200, size],
      ])

      const crashed = await create([size])
      const crashedParts = await sendAll(crashed, 0, file.bytes)
      const [row] = await server.deps.db.query<{ storage_key: string; upload_id: string }>('SELECT storage_key, upload_id FROM files WHERE id = $1', [crashed.files[0]!.id])
      // Storage completed the upload; the process died before the database heard of it.
      await server.deps.store.completeMultipart(row!.storage_key, row!.upload_id, crashedParts)
      expect((await state(crashed)).files[0]!.completed).toBe(true)
      expect((await complete(crashed, 0, crashedParts)).body).toEqual({ size })
      expect((await finalize(crashed)).status).toBe(200)
      const dl = await fetch(`${server.url}/api/shares/${crashed.id}/download`)
      expect(sha256(Buffer.from(await dl.arrayBuffer()))).toBe(file.sha256)
    })

    it('a chunked curl upload with a 1 MB quota stops with 413 after at most 1 MB was stored, and nothing is left', async () => {
      const file = randomFile(6 * MiB, 'over-quota.bin')
      const before = { rows: await rows(), stored: await stored() }
      await withQuota(1_000_000, async () => {
        const tries: [string, string[]][] = [
          ['chunked', ['-H', 'Transfer-Encoding: chunked', '-T', file.path, `${server.url}/api/upload/over-quota.bin`]],
          ['with Content-Length', ['-T', file.path, `${server.url}/api/upload/over-quota.bin`]],
          ['multipart form', ['-F', `file=@${file.path}`, `${server.url}/api/upload`]],
        ]
        for (const [how, args] of tries) {
          const { result, bytes } = await countStoredBytes(() => curl(args))
          expect(result.status, how).toBe(413)
          expect(JSON.parse(result.body).error.code, how).toBe('quota_exceeded')
          // Stopped at the limit: never more than the quota reached storage, and it got close to it.
          expect(bytes, how).toBeLessThanOrEqual(1_000_000)
          expect(bytes, how).toBeGreaterThan(800_000)
          expect(await rows(), how).toEqual(before.rows)
          expect(await stored(), how).toEqual(before.stored)
          // Nothing was kept, so nothing of the quota is used.
          expect((await used()).quota, how).toBe(0)
        }
        // Under the quota it works, and then the quota is used.
        const fits = await curl(['-T', randomFile(900_000).path, `${server.url}/api/upload/fits.bin`])
        expect(fits.status).toBe(201)
        expect((await used()).quota).toBe(900_000)
        const second = await curl(['-T', randomFile(200_000).path, `${server.url}/api/upload/second.bin`])
        expect(second.status).toBe(413)
        expect((await used()).quota).toBe(900_000)
      })
    })

    it('form fields do not count as file bytes: a 1000-byte file with a 3000-character field costs 1000 bytes of quota', async () => {
      await withQuota(10 * MiB, async () => {
        const up = await curl(['-F', `note=${'n'.repeat(3000)}`, '-F', `file=@${randomFile(1000).path}`, '-F', `comment=${'c'.repeat(3000)}`, `${server.url}/api/upload`])
        expect(up.status, up.body).toBe(201)
        expect((await used()).quota).toBe(1000)
      })
    })

    it('refused options, before or after the file, leave nothing stored and nothing counted', async () => {
      const before = { rows: await rows(), stored: await stored(), used: await used() }
      // Small: a refusal answered before the whole body was sent would make curl fail to send the rest.
      const file = randomFile(100_000)
      const maxExpiry = (await policy()).anonymous.maxExpiry
      const refused: string[][] = [
        ['-F', 'maxDownloads=0', '-F', `file=@${file.path}`],
        ['-F', `file=@${file.path}`, '-F', 'expiresIn=-3'],
        ['-F', `file=@${file.path}`, '-F', 'maxDownloads=many'],
        ['-F', `file=@${file.path}`, '-F', `expiresIn=${maxExpiry + 1}`],
        ['-F', `file=@${file.path}`, '-F', `password=${'p'.repeat(300)}`],
      ]
      for (const args of refused) {
        const r = await curl([...args, `${server.url}/api/upload`])
        expect(r.status, args.join(' ')).toBe(400)
        expect(JSON.parse(r.body).error.code).toBe('invalid_input')
      }
      const put = await curl(['-T', file.path, `${server.url}/api/upload/x.bin?expiresIn=${maxExpiry + 1}`])
      expect(put.status).toBe(400)
      expect(await rows()).toEqual(before.rows)
      expect(await stored()).toEqual(before.stored)
      expect(await used()).toEqual(before.used)
    })

    it('curl -F file=@x -F maxDownloads=1 -F password=p: at no moment does the share download without its password', async () => {
      const file = randomFile(3 * MiB, 'late-options.bin')
      const known = (await server.deps.db.query<{ id: string }>('SELECT id FROM shares')).map((r) => r.id)
      const upload = curl(['--limit-rate', '2M', '-F', `file=@${file.path}`, '-F', 'maxDownloads=1', '-F', 'password=p', `${server.url}/api/upload`])
      let finished = false
      void upload.finally(() => (finished = true))
      let polls = 0
      let sawRow = false
      const leaks: string[] = []
      // Poll the share as a stranger would, from the moment its row exists until the upload answered.
      while (!finished) {
        const found = await server.deps.db.query<{ id: string }>('SELECT id FROM shares WHERE NOT (id = ANY($1::text[]))', [known])
        for (const { id } of found) {
          sawRow = true
          const meta = await json(`/api/shares/${id}`)
          if (meta.status === 200 && meta.body.files) leaks.push(`metadata of ${id} without the password`)
          const dl = await server.fetch(`/api/shares/${id}/download`, { redirect: 'manual' })
          if (dl.status === 302 || dl.status === 200) leaks.push(`download of ${id} without the password (${dl.status})`)
          polls++
        }
        await new Promise((r) => setTimeout(r, 10))
      }
      const up = await upload
      expect(up.status, up.body).toBe(201)
      expect(leaks).toEqual([])
      expect(sawRow).toBe(true)
      expect(polls).toBeGreaterThan(5)
      const { id } = JSON.parse(up.body) as { id: string }
      expect((await json(`/api/shares/${id}`)).body).toEqual({ id, passwordRequired: true, expiresAt: expect.any(String) })
      expect((await json(`/api/shares/${id}/download`)).body.error?.code).toBe('password_required')
      const unlocked = await json(`/api/shares/${id}`, { headers: { 'x-share-password': 'p' } })
      expect(unlocked.body).toMatchObject({ maxDownloads: 1, downloadsLeft: 1 })
    })

    it('a form with 101 files (or 102) is refused with 413 and stores none of them, instead of silently dropping the extra ones', async () => {
      const tiny = randomFile(10, 'tiny.bin')
      const before = { rows: await rows(), stored: await stored() }
      for (const count of [101, 102]) {
        const args = Array.from({ length: count }, () => ['-F', `file=@${tiny.path}`]).flat()
        const r = await curl([...args, `${server.url}/api/upload`])
        expect(r.status, `${count} files`).toBe(413)
        expect(JSON.parse(r.body).error).toMatchObject({ code: 'too_large', message: expect.stringMatching(/at most 100 files/) })
        expect(await rows()).toEqual(before.rows)
        expect(await stored()).toEqual(before.stored)
      }
      // Other shapes an attacker might try: a file under another field name, too many fields, a huge field.
      const other = await curl(['-F', `upload=@${tiny.path}`, '-F', `file=@${tiny.path}`, `${server.url}/api/upload`])
      expect(other.status).toBe(400)
      const fields = await curl([...Array.from({ length: 21 }, (_, i) => ['-F', `f${i}=x`]).flat(), '-F', `file=@${tiny.path}`, `${server.url}/api/upload`])
      expect(fields.status).toBe(413)
      const huge = await curl(['-F', `file=@${tiny.path}`, '-F', `note=${'x'.repeat(5000)}`, `${server.url}/api/upload`])
      expect(huge.status).toBe(413)
      expect(await rows()).toEqual(before.rows)
      expect(await stored()).toEqual(before.stored)
      // Exactly 100 files is a share of 100 files.
      const hundred = await curl([...Array.from({ length: 100 }, () => ['-F', `file=@${tiny.path}`]).flat(), `${server.url}/api/upload`])
      expect(hundred.status).toBe(201)
      const [count] = await server.deps.db.query<{ n: number }>('SELECT file_count AS n FROM shares WHERE id = $1', [(JSON.parse(hundred.body) as { id: string }).id])
      expect(count!.n).toBe(100)
    })

    it('a curl upload streaming to storage is known to the database before its first part, and a cut upload leaves nothing', async () => {
      const file = randomFile(16 * MiB, 'cut.bin')
      const before = { rows: await rows(), stored: await stored() }
      // This upload's row, and no other: shares that existed before it (the previous test's 100-file
      // share may be less than a second old) are excluded by id, not by a creation-time window.
      const known = (await server.deps.db.query<{ id: string }>('SELECT id FROM shares')).map((r) => r.id)
      const child = spawn('curl', ['-sS', '--limit-rate', '3M', '-T', file.path, `${server.url}/api/upload/cut.bin`], { stdio: 'ignore' })
      const exited = new Promise((resolve) => child.once('exit', resolve))
      let seen: { storage_key: string; upload_id: string | null } | undefined
      for (let i = 0; i < 500; i++) {
        ;[seen] = await server.deps.db.query<{ storage_key: string; upload_id: string | null }>(
          `SELECT storage_key, upload_id FROM files WHERE name = 'cut.bin' AND NOT (share_id = ANY($1::text[]))`,
          [known],
        )
        if (seen && (!isS3() || seen.upload_id)) break
        await new Promise((r) => setTimeout(r, 20))
      }
      expect(seen, 'the file row exists while it streams').toBeDefined()
      if (isS3()) {
        // The multipart upload S3 streams into is recorded (so a janitor can abort it after a crash).
        expect(seen!.upload_id).toBeTruthy()
        await expect(server.deps.store.listParts(seen!.storage_key, seen!.upload_id!)).resolves.toBeInstanceOf(Array)
      }
      child.kill('SIGKILL')
      await exited
      // The server notices the cut, aborts what storage started, and removes the rows.
      for (let i = 0; i < 250 && JSON.stringify(await rows()) !== JSON.stringify(before.rows); i++) await new Promise((r) => setTimeout(r, 20))
      expect(await rows()).toEqual(before.rows)
      expect(await stored()).toEqual(before.stored)
      if (isS3()) await expect(server.deps.store.listParts(seen!.storage_key, seen!.upload_id!)).rejects.toMatchObject({ code: 'not_found' })
    })

    it('part tricks get a clear 4xx and change nothing: a short part, an edited part URL, a URL of a completed file, finalize before complete', async () => {
      const size = 5 * MiB + 10
      const file = randomFile(size)
      const c = await create([size])
      const [p1, p2] = await sign(c, 0, [1, 2])
      // A short first part is kept as what it is, but the file cannot be completed with it.
      expect((await put(p1!.url, file.bytes.subarray(0, 5 * MiB - 1))).status).toBe(200)
      expect((await put(p2!.url, file.bytes.subarray(5 * MiB))).status).toBe(200)
      expect((await state(c)).files[0]!.parts.map((p) => [p.partNumber, p.size])).toEqual([
        [1, 5 * MiB - 1],
        [2, 10],
      ])
      const shortDone = await complete(c, 0)
      expect([shortDone.status, shortDone.body.error?.code]).toEqual([409, 'part_mismatch'])
      expect(shortDone.body.error?.message).toMatch(/Part 1 holds/)
      // Finalize before every file is complete: refused, and the link does not work.
      const early = await finalize(c)
      expect([early.status, early.body.error?.code]).toEqual([409, 'upload_incomplete'])
      expect((await json(`/api/shares/${c.id}`)).status).toBe(404)
      if (!isS3()) {
        // The disk store's signature covers the part number: part 1's URL cannot write part 2.
        const edited = p1!.url.replace(/\/1\?/, '/2?')
        expect(edited).not.toBe(p1!.url)
        const forged = await put(edited, file.bytes.subarray(5 * MiB))
        expect(forged.status).toBe(403)
        expect(JSON.parse(forged.body)).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } })
        expect((await state(c)).files[0]!.parts.find((p) => p.partNumber === 2)?.size).toBe(10)
      }
      // Sent again in full, the file completes; its part URLs then lead nowhere.
      expect((await put(p1!.url, file.bytes.subarray(0, 5 * MiB))).status).toBe(200)
      expect((await complete(c, 0)).body).toEqual({ size })
      const before = await stored()
      const late = await put(p1!.url, file.bytes.subarray(0, 5 * MiB))
      expect(late.status).toBeGreaterThanOrEqual(400)
      expect(late.status).toBeLessThan(500)
      expect(await stored()).toEqual(before)
      expect((await finalize(c)).status).toBe(200)
      const dl = await fetch(`${server.url}/api/shares/${c.id}/download`)
      expect(Buffer.from(await dl.arrayBuffer()).equals(file.bytes)).toBe(true)
    })

    // Last: it uses up this client's budget for signing parts.
    it('a flood of upload-state requests is rate limited with 429 and Retry-After, never a 5xx', async () => {
      const c = await create([10])
      const statuses = await Promise.all(Array.from({ length: 420 }, () => server.fetch(`/api/shares/${c.id}/upload`, { headers: c.owner }).then(async (r) => [r.status, r.headers.get('retry-after')] as const)))
      expect(statuses.filter(([s]) => s >= 500)).toEqual([])
      const limited = statuses.filter(([s]) => s === 429)
      expect(limited.length).toBeGreaterThan(0)
      expect(Number(limited[0]![1])).toBeGreaterThan(0)
    })
  })
}

/** Every file under a directory (the disk store's objects, parts and temp files). */
export function walk(dir: string): string[] {
  const out: string[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...walk(p))
    else if (statSync(p).isFile()) out.push(p)
  }
  return out.sort()
}
