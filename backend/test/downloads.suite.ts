/**
 * Downloads counted when they happen, written once and run against every pairing of database
 * (PGlite, PostgreSQL) and blob store (disk, S3 on s3rver): the real server over HTTP, the real curl.
 * Limited shares are streamed by the app under a lease (a short lease in these tests); unlimited
 * shares keep the presigned fast path, counted by an appended event.
 */
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { curl, randomFile, sha256, sha256File, tempPath } from './support/files'
import { startTestServer, type TestServer } from './support/harness'

const MiB = 2 ** 20
/**
 * Long enough that a busy machine never lets a lease lapse by itself in these tests; a lapse is made
 * by moving the lease's expiry back, as a clock shift would (download-lease.test.ts lets real time pass).
 */
const LEASE_TTL_SECONDS = 30

interface Issued {
  url: string
  expiresAt: string
  lease?: { token: string; expiresAt: string }
}

export function downloadsSuite(name: string, env: () => Promise<Record<string, string>>) {
  describe(`downloads counted when they happen, on ${name}`, () => {
    let server: TestServer
    beforeAll(async () => {
      server = await startTestServer({
        UPLOAD_RATE_LIMIT: '1000/1h',
        DOWNLOAD_RATE_LIMIT: '100000/1m',
        DOWNLOAD_LEASE_TTL: String(LEASE_TTL_SECONDS),
        MAX_FILE_SIZE: '64MiB',
        ANON_MAX_FILE_SIZE: '64MiB',
        ...(await env()),
      })
    })
    afterAll(() => server?.close())

    const json = async <T = Record<string, unknown>>(path: string, init: RequestInit = {}) => {
      const res = await server.fetch(path, { ...init, headers: { 'content-type': 'application/json', ...(init.headers ?? {}) } })
      const body = (await res.json().catch(() => null)) as T & { error?: { code: string; message: string } }
      return { status: res.status, body, res }
    }
    /** A curl upload; `options` as form fields. */
    const share = async (files: { path: string }[], options: Record<string, string> = {}) => {
      const args = [...Object.entries(options).flatMap(([k, v]) => ['-F', `${k}=${v}`]), ...files.flatMap((f) => ['-F', `file=@${f.path}`])]
      const up = await curl([...args, `${server.url}/api/upload`])
      expect(up.status, up.body).toBe(201)
      return JSON.parse(up.body) as { id: string; downloadUrl: string; ownerToken: string }
    }
    const fileIds = async (id: string) => ((await json<{ files: { id: string }[] }>(`/api/shares/${id}`)).body.files ?? []).map((f) => f.id)
    const issue = (id: string, fileId: string | null, body: Record<string, string> = {}) =>
      json<Issued>(fileId ? `/api/shares/${id}/files/${fileId}/download` : `/api/shares/${id}/download`, { method: 'POST', body: JSON.stringify(body) })
    /** What the database says was counted: the share's counter and its download events. */
    const counted = async (id: string) => {
      // unlimited shares' events are written in batches: this instance's are written first
      await server.deps.downloadEvents.flush()
      const [row] = await server.deps.db.query<{ downloads: number; events: number; bytes: number }>(
        `SELECT s.downloads, (SELECT count(*) FROM download_events e WHERE e.share_id = s.id)::int AS events,
                (SELECT coalesce(sum(bytes), 0) FROM download_events e WHERE e.share_id = s.id)::int AS bytes
         FROM shares s WHERE s.id = $1`,
        [id],
      )
      return row!
    }
    /** The share's leases lapse now (what DOWNLOAD_LEASE_TTL without bytes flowing does). */
    const lapse = (id: string) => server.deps.db.query(`UPDATE download_leases SET expires_at = now() - interval '1 second' WHERE share_id = $1 AND expires_at > now()`, [id])
    const leases = async (id: string) => (await server.deps.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM download_leases WHERE share_id = $1`, [id]))[0]!.n
    /** Reads a download until at least `bytes` arrived, then drops the connection (a cut link). */
    const fetchUntil = async (url: string, bytes: number): Promise<Buffer> => {
      const abort = new AbortController()
      const res = await fetch(url, { signal: abort.signal })
      expect(res.status).toBe(200)
      const reader = res.body!.getReader()
      const chunks: Uint8Array[] = []
      let got = 0
      while (got < bytes) {
        const { value, done } = await reader.read()
        if (done) break
        chunks.push(value)
        got += value.length
      }
      abort.abort()
      await reader.cancel().catch(() => undefined)
      return Buffer.concat(chunks)
    }
    const bytesOf = async (res: Response) => Buffer.from(await res.arrayBuffer())

    it('a maxDownloads: 1 share downloads exactly once (curl -L), then answers 404 like any dead link', async () => {
      const file = randomFile(300_000, 'once.bin')
      const { id, downloadUrl, ownerToken } = await share([file], { maxDownloads: '1' })
      const delivery = async (token: string) => json<{ delivery?: Record<string, unknown> }>(`/api/shares/${id}/upload`, { headers: { 'x-owner-token': token } })
      expect((await delivery(ownerToken)).body.delivery).toMatchObject({ downloads: 0, maxDownloads: 1, lastDownloadAt: null, usedUp: false })
      const out = tempPath(`once-${id}`)
      const first = await curl(['-L', '-o', out, downloadUrl])
      expect(first.status).toBe(200)
      expect(await sha256File(out)).toBe(file.sha256)
      expect(first.headers).toMatch(/content-disposition: attachment; filename="once\.bin"/i)
      expect(await counted(id)).toEqual({ downloads: 1, events: 1, bytes: 300_000 })
      const again = await curl(['-L', '-o', tempPath(`again-${id}`), downloadUrl])
      expect(again.status).toBe(404)
      expect((await json(`/api/shares/${id}`)).status).toBe(404)
      expect(await counted(id)).toEqual({ downloads: 1, events: 1, bytes: 300_000 })
      // Its owner is told it was collected; nobody else learns anything.
      const told = await delivery(ownerToken)
      expect(told.body.delivery).toMatchObject({ downloads: 1, maxDownloads: 1, usedUp: true })
      expect(Date.parse(String(told.body.delivery?.lastDownloadAt))).toBeGreaterThan(Date.now() - 600_000)
      const stranger = await delivery('x'.repeat(43))
      expect([403, 404]).toContain(stranger.status)
      expect(stranger.body.delivery).toBeUndefined()
    })

    it('the same signed URL fetched twice: the second answers 410 and sends nothing', async () => {
      const file = randomFile(50_000, 'twice.bin')
      const { id } = await share([file], { maxDownloads: '3' })
      const { body } = await issue(id, null)
      expect(body.lease?.token).toMatch(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}$/)
      // HEAD of the leased URL answers its headers without using it
      for (let i = 0; i < 3; i++) {
        const probe = await fetch(body.url, { method: 'HEAD' })
        expect(probe.status).toBe(200)
        expect(probe.headers.get('content-length')).toBe('50000')
        expect(probe.headers.get('accept-ranges')).toBe('bytes')
      }
      expect(await counted(id)).toMatchObject({ downloads: 0, events: 0 })
      const first = await fetch(body.url)
      expect(first.status).toBe(200)
      expect(sha256(await bytesOf(first))).toBe(file.sha256)
      const second = await fetch(body.url)
      expect(second.status).toBe(410)
      expect(((await second.json()) as { error: { code: string } }).error.code).toBe('download_link_used')
      const ranged = await fetch(body.url, { headers: { range: 'bytes=0-99' } })
      expect(ranged.status).toBe(410)
      expect(await counted(id)).toMatchObject({ downloads: 1, events: 1 })
      // the share's other downloads are still there for other recipients
      expect((await json<{ downloadsLeft: number }>(`/api/shares/${id}`)).body.downloadsLeft).toBe(2)
    })

    it('attackers: the same single-use URL fetched twice at once: only one of the two gets the whole file, counted once', async () => {
      // Several times what the socket buffers and streams between store and client hold (4 MiB fits
      // in them here, 8 MiB does not): a response nobody reads cannot end.
      const size = 24 * MiB
      const file = randomFile(size, 'together.bin')
      const { id } = await share([file], { maxDownloads: '2' })
      const { body } = await issue(id, null)
      // The second is asked for while the first is answered but left unread, so it cannot have
      // finished: both pass the "already used" check, whatever the machine's speed.
      const a = await fetch(body.url)
      const b = await fetch(body.url)
      expect([a.status, b.status]).toEqual([200, 200])
      expect(await counted(id)).toMatchObject({ downloads: 0, events: 0 })
      const readAll = async (res: Response) => {
        const chunks: Uint8Array[] = []
        const reader = res.body!.getReader()
        try {
          for (;;) {
            const { value, done } = await reader.read()
            if (done) return { whole: true, bytes: Buffer.concat(chunks) }
            chunks.push(value)
          }
        } catch {
          return { whole: false, bytes: Buffer.concat(chunks) }
        }
      }
      const got = await Promise.all([readAll(a), readAll(b)])
      const complete = got.filter((g) => g.whole && g.bytes.length === size)
      expect(complete).toHaveLength(1)
      expect(sha256(complete[0]!.bytes)).toBe(file.sha256)
      expect(got.find((g) => g !== complete[0])!.bytes.length).toBeLessThan(size)
      expect(await counted(id)).toMatchObject({ downloads: 1, events: 1 })
      expect((await fetch(body.url)).status).toBe(410)
    })

    it('a download cut at 50 % and resumed with Range within the lease completes byte-identical and counts once', async () => {
      const file = randomFile(24 * MiB, 'resume.bin')
      const { id } = await share([file], { maxDownloads: '1' })
      const { body } = await issue(id, null)
      const head = await fetchUntil(body.url, 12 * MiB)
      expect(head.length).toBeLessThan(file.bytes.length)
      expect(await counted(id)).toMatchObject({ downloads: 0, events: 0 })
      // someone else cannot take the download meanwhile, nor use the holder's URL without its lease
      expect((await issue(id, null)).status).toBe(409)
      expect((await fetch(body.url.replace(/lease=[^&]+/, ''))).status).toBe(400)
      // resumed as the README says: curl -C - on the file URL, appending to what arrived
      const partial = tempPath(`partial-${id}`)
      writeFileSync(partial, head)
      const rest = await curl(['-C', '-', '-o', partial, body.url])
      expect(rest.status).toBe(206)
      expect(rest.headers.toLowerCase()).toContain(`content-range: bytes ${head.length}-${file.bytes.length - 1}/${file.bytes.length}`)
      expect(await sha256File(partial)).toBe(file.sha256)
      expect(await counted(id)).toEqual({ downloads: 1, events: 1, bytes: file.bytes.length })
      expect((await json(`/api/shares/${id}`)).status).toBe(404)
    })

    it('a download cut at 50 % and abandoned leaves the link usable once the lease lapses', async () => {
      const file = randomFile(24 * MiB, 'abandoned.bin')
      const { id, downloadUrl } = await share([file], { maxDownloads: '1' })
      const { body } = await issue(id, null)
      await fetchUntil(body.url, 12 * MiB)
      const busy = await issue(id, null)
      expect(busy.status).toBe(409)
      expect(busy.body.error?.code).toBe('download_in_progress')
      expect(Number(busy.res.headers.get('retry-after'))).toBeGreaterThan(0)
      expect(Number(busy.res.headers.get('retry-after'))).toBeLessThanOrEqual(LEASE_TTL_SECONDS)
      // the recipient page still offers the download (nothing was used)
      expect((await json<{ downloadsLeft: number }>(`/api/shares/${id}`)).body.downloadsLeft).toBe(1)
      // after the lease lapses the link works again, for anyone
      await lapse(id)
      const again = await issue(id, null)
      expect(again.status).toBe(200)
      // the abandoned URL is dead, even for a resume
      const stale = await fetch(body.url, { headers: { range: 'bytes=12582912-' } })
      expect(stale.status).toBe(410)
      expect(((await stale.json()) as { error: { code: string } }).error.code).toBe('download_link_expired')
      const out = tempPath(`abandoned-${id}`)
      expect((await curl(['-o', out, again.body.url])).status).toBe(200)
      expect(await sha256File(out)).toBe(file.sha256)
      expect(await counted(id)).toMatchObject({ downloads: 1, events: 1 })
      expect((await curl(['-L', '-o', tempPath(`late-${id}`), downloadUrl])).status).toBe(404)
    })

    it('curl -I on downloadUrl 20 times counts nothing and leases nothing; then a real download works', async () => {
      const file = randomFile(4096, 'preview.txt')
      const { id, downloadUrl } = await share([file], { maxDownloads: '1' })
      for (let i = 0; i < 20; i++) {
        const head = await curl(['-I', downloadUrl])
        expect(head.status).toBe(200)
        expect(head.headers).toMatch(/content-length: 4096/i)
        expect(head.headers).toMatch(/content-disposition: attachment; filename="preview\.txt"/i)
        expect(head.headers).not.toMatch(/^location:/im)
      }
      // the share page's data is a preview too
      for (let i = 0; i < 5; i++) expect((await json(`/api/shares/${id}`)).status).toBe(200)
      expect(await counted(id)).toMatchObject({ downloads: 0, events: 0 })
      expect(await leases(id)).toBe(0)
      const out = tempPath(`preview-${id}`)
      expect((await curl(['-L', '-o', out, downloadUrl])).status).toBe(200)
      expect(await sha256File(out)).toBe(file.sha256)
      expect(await counted(id)).toMatchObject({ downloads: 1, events: 1 })
    })

    it('20 parallel claimants of a one-time link: exactly one gets bytes, the others 409 download_in_progress', async () => {
      const file = randomFile(200_000, 'race.bin')
      const { id, downloadUrl } = await share([file], { maxDownloads: '1' })
      const results = await Promise.all(
        Array.from({ length: 20 }, async () => {
          const res = await fetch(downloadUrl)
          return { status: res.status, bytes: await bytesOf(res) }
        }),
      )
      const ok = results.filter((r) => r.status === 200)
      expect(ok).toHaveLength(1)
      expect(sha256(ok[0]!.bytes)).toBe(file.sha256)
      // the others were told to wait (a lease was running) or, once it was used, that the link is gone
      expect(results.filter((r) => r.status === 409 || r.status === 404)).toHaveLength(19)
      expect(await leases(id)).toBe(1)
      expect(await counted(id)).toMatchObject({ downloads: 1, events: 1 })
    })

    it('a multi-file maxDownloads: 1 share serves all its files to the one lease holder and nothing to a second recipient', async () => {
      const files = [randomFile(70_000, 'one.bin'), randomFile(0, 'empty.bin'), randomFile(3 * MiB, 'three.bin')]
      const { id } = await share(files, { maxDownloads: '1' })
      const ids = await fileIds(id)
      const meta = await json<{ downloadsLeft: number; files: { downloadsLeft: number }[] }>(`/api/shares/${id}`)
      expect(meta.body.downloadsLeft).toBe(1)
      expect(meta.body.files.map((f) => f.downloadsLeft)).toEqual([1, 1, 1])

      const first = await issue(id, ids[0]!)
      expect(first.status).toBe(200)
      const lease = first.body.lease!.token
      // before any file was sent whole, a second recipient is told to wait, not that the link is dead
      expect((await issue(id, ids[2]!)).status).toBe(409)
      expect(sha256(await bytesOf(await fetch(first.body.url)))).toBe(files[0]!.sha256)
      // the download is used up now; the holder still gets the other files (lease in body or header)
      expect((await issue(id, ids[2]!)).status).toBe(404)
      expect((await json(`/api/shares/${id}`)).status).toBe(404)
      const second = await issue(id, ids[1]!, { lease })
      expect(second.status).toBe(200)
      expect(sha256(await bytesOf(await fetch(second.body.url)))).toBe(files[1]!.sha256)
      const third = await json<Issued>(`/api/shares/${id}/files/${ids[2]}/download`, { method: 'POST', body: '{}', headers: { 'x-download-lease': lease } })
      expect(third.status).toBe(200)
      expect(sha256(await bytesOf(await fetch(third.body.url)))).toBe(files[2]!.sha256)
      // each file's link is used once; the share counted one download of all its bytes
      expect((await issue(id, ids[0]!, { lease })).status).toBe(410)
      expect(await counted(id)).toEqual({ downloads: 1, events: 1, bytes: 70_000 + 3 * MiB })
      const nobody = await curl(['-L', '-o', tempPath(`nobody-${id}`), `${server.url}/api/shares/${id}/files/${ids[0]}/download`])
      expect(nobody.status).toBe(404)
    })

    it('unlimited shares keep the fast path: 302 to a presigned URL, counted by an event without touching the share row', async () => {
      const file = randomFile(1000, 'open.bin')
      const { id, downloadUrl } = await share([file])
      for (let i = 0; i < 3; i++) expect((await curl(['-I', downloadUrl])).status).toBe(200)
      const res = await fetch(downloadUrl, { redirect: 'manual' })
      expect(res.status).toBe(302)
      const location = res.headers.get('location')!
      expect(location).not.toContain('/content?lease=')
      expect(sha256(await bytesOf(await fetch(location)))).toBe(file.sha256)
      expect(await counted(id)).toEqual({ downloads: 0, events: 1, bytes: 1000 })
      expect(await leases(id)).toBe(0)
      const meta = await json<{ downloadsLeft: null }>(`/api/shares/${id}`)
      expect(meta.body.downloadsLeft).toBeNull()
    })

    it('attackers: forged, malformed, replayed and other shares\' lease tokens are refused', async () => {
      const file = randomFile(10_000, 'target.bin')
      const other = randomFile(10_000, 'other.bin')
      const target = await share([file], { maxDownloads: '2' })
      const elsewhere = await share([other], { maxDownloads: '2' })
      const [targetFile] = await fileIds(target.id)
      const { body } = await issue(target.id, null)
      const token = body.lease!.token
      const [leaseId] = token.split('.')
      const content = (lease: string, shareId = target.id, fileId = targetFile!) =>
        fetch(`${server.url}/api/shares/${shareId}/files/${fileId}/content?lease=${encodeURIComponent(lease)}`)
      const code = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code

      for (const forged of [`${randomBytes(16).toString('base64url')}.${randomBytes(16).toString('base64url')}`, `${leaseId}.${randomBytes(16).toString('base64url')}`, 'not-a-lease', `${token}x`, '']) {
        const res = await content(forged)
        expect(res.status, forged).toBe(403)
        expect(await code(res)).toBe('lease_invalid')
      }
      // a lease of another share opens nothing here, and a lease of this share nothing there
      const otherIssued = await issue(elsewhere.id, null)
      const res = await content(otherIssued.body.lease!.token)
      expect(res.status).toBe(403)
      const [otherFile] = await fileIds(elsewhere.id)
      expect((await content(token, elsewhere.id, otherFile)).status).toBe(403)
      expect((await issue(elsewhere.id, null, { lease: token })).status).toBe(403)
      expect((await issue(elsewhere.id, null, { lease: 'garbage' })).status).toBe(403)
      // the right lease for an unknown file of the share: the same 404 as any dead link
      expect((await content(token, target.id, 'AAAAAAAAAAAAAAAAAAAAAA')).status).toBe(404)
      expect(await counted(target.id)).toMatchObject({ downloads: 0, events: 0 })
      // the genuine URL still works once, and its replay is refused
      expect(sha256(await bytesOf(await content(token)))).toBe(file.sha256)
      expect((await content(token)).status).toBe(410)
      expect(await counted(target.id)).toMatchObject({ downloads: 1, events: 1 })
      expect(await counted(elsewhere.id)).toMatchObject({ downloads: 0, events: 0 })
    })

    it('attackers: an expired lease is refused with 410; nothing was counted', async () => {
      const file = randomFile(5000, 'late.bin')
      const { id } = await share([file], { maxDownloads: '1' })
      const { body } = await issue(id, null)
      expect((await fetch(body.url, { method: 'HEAD' })).status).toBe(200)
      await lapse(id)
      expect((await fetch(body.url, { method: 'HEAD' })).status).toBe(410)
      const res = await fetch(body.url)
      expect(res.status).toBe(410)
      expect(await counted(id)).toMatchObject({ downloads: 0, events: 0 })
      // a new claim with the stale lease is simply a new lease
      const again = await issue(id, null, { lease: body.lease!.token })
      expect(again.status).toBe(200)
      expect(again.body.lease!.token).not.toBe(body.lease!.token)
    })

    it('attackers: hostile Range headers get 416 or the whole file, never a 500 or bytes outside the file', async () => {
      const file = randomFile(1000, 'ranges.bin')
      const { id } = await share([file], { maxDownloads: '1' })
      const { body } = await issue(id, null)
      const get = (range: string, method = 'GET') => fetch(body.url, { method, headers: { range } })
      // past the end, negative, reversed or garbage: unsatisfiable
      for (const range of ['bytes=99999999999999999999-', 'bytes=1000-', 'bytes=5000-6000', 'bytes=-0', 'bytes=5-2', 'bytes=abc', 'bytes=--5', 'bytes=-99999999999999999999']) {
        const res = await get(range)
        expect(res.status, range).toBe(416)
        expect(res.headers.get('content-range'), range).toBe('bytes */1000')
        await res.arrayBuffer()
      }
      // ignored (several ranges, other units, no ranges at all, an If-Range that does not match): the whole file
      for (const range of ['bytes=0-1,5-9', 'items=0-5', 'bytes', `bytes=${'0-0,2-2,'.repeat(1000)}4-4`]) {
        const res = await get(range, 'HEAD')
        expect(res.status, range).toBe(200)
        expect(res.headers.get('content-length'), range).toBe('1000')
      }
      const ifRange = await fetch(body.url, { method: 'HEAD', headers: { range: 'bytes=0-9', 'if-range': '"something-else"' } })
      expect(ifRange.status).toBe(200)
      // an end past the file is clamped; a ranged read that stops short of the end uses nothing
      const start = await get('bytes=0-9')
      expect(start.status).toBe(206)
      expect(await bytesOf(start)).toEqual(file.bytes.subarray(0, 10))
      const clamped = await get('bytes=990-99999999999999999999', 'HEAD')
      expect(clamped.headers.get('content-range')).toBe('bytes 990-999/1000')
      expect(await counted(id)).toMatchObject({ downloads: 0, events: 0 })
      // a suffix range reaches the end: the file is complete, the download counted, the link used
      const suffix = await get('bytes=-5')
      expect(suffix.status).toBe(206)
      expect(await bytesOf(suffix)).toEqual(file.bytes.subarray(995))
      expect(await counted(id)).toMatchObject({ downloads: 1, events: 1 })
      expect((await get('bytes=0-9')).status).toBe(410)
    })

    it('attackers: a flood of 50 parallel claims on a one-time link never holds two leases at once; the rest get 409 with Retry-After', async () => {
      const { id } = await share([randomFile(100, 'flood.bin')], { maxDownloads: '1' })
      const results = await Promise.all(Array.from({ length: 50 }, () => issue(id, null)))
      const granted = results.filter((r) => r.status === 200)
      const refused = results.filter((r) => r.status === 409)
      expect(granted.length).toBeGreaterThanOrEqual(1)
      expect(granted.length + refused.length).toBe(50)
      for (const r of refused) expect(Number(r.res.headers.get('retry-after'))).toBeGreaterThan(0)
      // On a loaded machine the flood may outlast one lease (nobody downloads): a new one is only ever
      // granted after the previous one lapsed.
      const rows = await server.deps.db.query<{ created_at: Date; expires_at: Date }>(
        `SELECT created_at, expires_at FROM download_leases WHERE share_id = $1 ORDER BY created_at`,
        [id],
      )
      expect(rows).toHaveLength(granted.length)
      for (let i = 1; i < rows.length; i++) expect(rows[i]!.created_at.getTime()).toBeGreaterThanOrEqual(rows[i - 1]!.expires_at.getTime())
      expect(await counted(id)).toMatchObject({ downloads: 0, events: 0 })
    })
  })
}
