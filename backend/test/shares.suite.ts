/**
 * The cloud-link behaviour, written once and run against every pairing of database
 * (PGlite, PostgreSQL) and blob store (disk, S3 on s3rver): the real server over HTTP.
 */
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { curl, randomFile, sha256, sha256File, tempPath } from './support/files'
import { startTestServer, type TestServer } from './support/harness'

const MiB = 2 ** 20

export function sharesSuite(name: string, env: () => Promise<Record<string, string>>) {
  describe(`cloud links on ${name}`, () => {
    let server: TestServer
    beforeAll(async () => {
      server = await startTestServer({ PART_SIZE: '5MiB', MAX_FILE_SIZE: '64MiB', ANON_MAX_FILE_SIZE: '32MiB', UPLOAD_RATE_LIMIT: '1000/1h', ...(await env()) })
    })
    afterAll(() => server?.close())

    const json = async (path: string, init: RequestInit & { body?: string } = {}) => {
      const res = await server.fetch(path, { ...init, headers: { 'content-type': 'application/json', ...(init.headers ?? {}) } })
      return { status: res.status, body: (await res.json().catch(() => null)) as Record<string, unknown> & { error?: { code: string; message: string } }, res }
    }

    it.each([0, 1, 10 * 1000 * 1000, 11 * MiB])('a %i-byte file uploaded by curl comes back byte-identical through curl -L', async (size) => {
      const file = randomFile(size, `curl-${size}.bin`)
      const up = await curl(['-F', `file=@${file.path}`, `${server.url}/api/upload`])
      expect(up.status).toBe(201)
      const created = JSON.parse(up.body) as { id: string; url: string; downloadUrl: string; ownerToken: string }
      expect(created.id).toMatch(/^[A-Za-z0-9_-]{22}$/)
      expect(created.url).toBe(`${server.url}/s/${created.id}`)
      const out = tempPath(`dl-${size}-${name.replace(/\W/g, '')}`)
      const down = await curl(['-L', '-o', out, created.downloadUrl])
      expect(down.status).toBe(200)
      expect(await sha256File(out)).toBe(file.sha256)
      expect(down.headers).toMatch(/content-disposition: attachment; filename="curl-\d+\.bin"; filename\*=UTF-8''curl-\d+\.bin/i)
    })

    it('curl -T (PUT /api/upload/:name) with options in the query string', async () => {
      const file = randomFile(1234, 'put.txt')
      const up = await curl(['-T', file.path, `${server.url}/api/upload/put.txt?maxDownloads=2&expiresIn=600`])
      expect(up.status).toBe(201)
      const created = JSON.parse(up.body) as { id: string; maxDownloads: number; expiresAt: string }
      expect(created.maxDownloads).toBe(2)
      expect(Date.parse(created.expiresAt) - Date.now()).toBeLessThanOrEqual(600_000)
      const meta = await json(`/api/shares/${created.id}`)
      expect(meta.body).toMatchObject({ files: [{ name: 'put.txt', size: 1234 }], downloadsLeft: 2 })
    })

    it('several files in one curl upload make a multi-file share, each downloadable under one download', async () => {
      const a = randomFile(100, 'a.bin')
      const b = randomFile(200, 'b.bin')
      const up = await curl(['-F', 'maxDownloads=1', '-F', `file=@${a.path}`, '-F', `file=@${b.path}`, `${server.url}/api/upload`])
      expect(up.status).toBe(201)
      const { id } = JSON.parse(up.body) as { id: string }
      const meta = await json(`/api/shares/${id}`)
      const files = meta.body.files as { id: string; name: string }[]
      expect(files.map((f) => f.name)).toEqual(['a.bin', 'b.bin'])
      const [row] = await server.deps.db.query<{ file_count: number; total_size: number }>('SELECT file_count, total_size FROM shares WHERE id = $1', [id])
      expect(row).toEqual({ file_count: 2, total_size: 300 })
      let lease: string | undefined
      for (const [i, f] of files.entries()) {
        const { body } = await json(`/api/shares/${id}/files/${f.id}/download`, { method: 'POST', body: JSON.stringify(lease ? { lease } : {}) })
        lease = (body.lease as { token: string }).token
        const bytes = Buffer.from(await (await fetch(body.url as string)).arrayBuffer())
        expect(sha256(bytes)).toBe([a, b][i]!.sha256)
      }
      // the share's one download is used, so the share is gone
      expect((await json(`/api/shares/${id}`)).status).toBe(404)
    })

    it('browser flow: PUT parts, interrupt, list parts, resume, complete, finalize, download', async () => {
      const file = randomFile(12 * MiB + 17, 'browser.bin')
      const created = await json('/api/shares', { method: 'POST', body: JSON.stringify({ files: [{ name: 'browser.bin', size: file.bytes.length, type: 'application/octet-stream' }] }) })
      expect(created.status).toBe(201)
      const { id, ownerToken } = created.body as { id: string; ownerToken: string }
      const f = (created.body.files as { id: string; partSize: number; partCount: number }[])[0]!
      expect(f.partCount).toBe(3)
      const owner = { 'x-owner-token': ownerToken }
      const sign = async (partNumbers: number[]) =>
        (await json(`/api/shares/${id}/files/${f.id}/parts`, { method: 'POST', headers: owner, body: JSON.stringify({ partNumbers }) })).body.parts as { partNumber: number; url: string }[]
      const put = async (n: number, url: string) => {
        const res = await fetch(url, { method: 'PUT', body: new Uint8Array(file.bytes.subarray((n - 1) * f.partSize, n * f.partSize)) })
        expect(res.status).toBe(200)
        return res.headers.get('etag')!
      }
      // a recipient can't see the share before it is finalized
      expect((await json(`/api/shares/${id}`)).status).toBe(404)
      // upload part 1, then "lose the connection"
      const [p1] = await sign([1])
      await put(1, p1!.url)
      // after a reload: the server tells which parts it already has
      const listed = await json(`/api/shares/${id}/files/${f.id}/parts`, { headers: owner })
      expect(listed.status, JSON.stringify(listed.body)).toBe(200)
      expect((listed.body.parts as { partNumber: number }[]).map((p) => p.partNumber)).toEqual([1])
      // finalize too early -> 409
      expect((await json(`/api/shares/${id}/finalize`, { method: 'POST', headers: owner, body: '{}' })).status).toBe(409)
      const rest = await sign([2, 3])
      const etags = [await put(2, rest[0]!.url), await put(3, rest[1]!.url)]
      const done = await json(`/api/shares/${id}/files/${f.id}/complete`, {
        method: 'POST',
        headers: owner,
        body: JSON.stringify({ parts: [{ partNumber: 2, etag: etags[0] }, { partNumber: 3, etag: etags[1] }] }),
      })
      expect(done.status).toBe(200)
      expect(done.body.size).toBe(file.bytes.length)
      expect((await json(`/api/shares/${id}/finalize`, { method: 'POST', headers: owner, body: '{}' })).status).toBe(200)
      const dl = await fetch(`${server.url}/api/shares/${id}/download`)
      expect(dl.status).toBe(200)
      expect(sha256(Buffer.from(await dl.arrayBuffer()))).toBe(file.sha256)
    })

    it('uploader routes refuse anyone without the owner token', async () => {
      const created = await json('/api/shares', { method: 'POST', body: JSON.stringify({ files: [{ name: 'x', size: 10 }] }) })
      const { id } = created.body as { id: string }
      const fileId = (created.body.files as { id: string }[])[0]!.id
      for (const token of [undefined, 'not-the-token']) {
        const headers: Record<string, string> = token ? { 'x-owner-token': token } : {}
        expect((await json(`/api/shares/${id}/files/${fileId}/parts`, { method: 'POST', headers, body: '{"partNumbers":[1]}' })).status).toBe(403)
        expect((await json(`/api/shares/${id}/finalize`, { method: 'POST', headers, body: '{}' })).status).toBe(403)
        expect((await server.fetch(`/api/shares/${id}`, { method: 'DELETE', headers })).status).toBe(403)
      }
    })

    it('expired, deleted, exhausted and never-existing ids all get the same 404 body', async () => {
      const up = async (args: string[]) => JSON.parse((await curl([...args, '-F', `file=@${randomFile(10).path}`, `${server.url}/api/upload`])).body) as { id: string; ownerToken: string }
      const expired = await up(['-F', 'expiresIn=1'])
      const deleted = await up([])
      const exhausted = await up(['-F', 'maxDownloads=1'])
      expect((await server.fetch(`/api/shares/${deleted.id}`, { method: 'DELETE', headers: { 'x-owner-token': deleted.ownerToken } })).status).toBe(204)
      expect((await curl(['-L', '-o', tempPath('exhausted.bin'), `${server.url}/api/shares/${exhausted.id}/download`])).status).toBe(200)
      await new Promise((r) => setTimeout(r, 1100))
      const bodies = []
      for (const id of [expired.id, deleted.id, exhausted.id, 'AAAAAAAAAAAAAAAAAAAAAA', 'not-an-id']) {
        for (const path of [`/api/shares/${id}`, `/api/shares/${id}/download`]) {
          const r = await json(path)
          expect(r.status, path).toBe(404)
          bodies.push(JSON.stringify(r.body))
        }
      }
      expect(new Set(bodies).size).toBe(1)
      expect(JSON.parse(bodies[0]!)).toEqual({ error: { code: 'share_not_found', message: expect.any(String) } })
    })

    it('a password share reveals no file name before unlock; wrong password 401, then 429', async () => {
      const file = randomFile(50, 'secret-name.txt')
      const { id } = JSON.parse((await curl(['-F', 'password=hunter2', '-F', `file=@${file.path}`, `${server.url}/api/upload`])).body) as { id: string }
      const locked = await json(`/api/shares/${id}`)
      expect(locked.status).toBe(200)
      expect(Object.keys(locked.body).sort()).toEqual(['expiresAt', 'id', 'passwordRequired'])
      expect(JSON.stringify(locked.body)).not.toContain('secret-name')
      expect((await json(`/api/shares/${id}/download`)).body.error?.code).toBe('password_required')
      const unlocked = await json(`/api/shares/${id}`, { headers: { 'x-share-password': 'hunter2' } })
      expect((unlocked.body.files as { name: string }[])[0]!.name).toBe('secret-name.txt')
      // the configured attempts (default 5/15m) then 429 with Retry-After
      const statuses = []
      for (let i = 0; i < 6; i++) statuses.push((await json(`/api/shares/${id}/download`, { method: 'POST', body: JSON.stringify({ password: `wrong${i}` }) })).status)
      expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401])
      const limited = await json(`/api/shares/${id}/download`, { method: 'POST', body: JSON.stringify({ password: 'hunter2' }) })
      expect(limited.status).toBe(429)
      expect(Number(limited.res.headers.get('retry-after'))).toBeGreaterThan(0)
      expect(limited.res.headers.get('ratelimit-limit')).toBe('5')
    })

    it('hostile file names stay metadata: escaped in Content-Disposition, no path outside the data dir', async () => {
      const names = ['../../etc/passwd', 'quo"te\'s.txt', 'line\r\nX-Injected: 1.txt', 'evil\u202Etxt.exe', `${'a'.repeat(10_000)}`, '<img src=x onerror=alert(1)>.html']
      const before = new Set(walk(server.dataDir))
      for (const name of names) {
        const body = Buffer.from('<html><script>alert(1)</script></html>')
        const created = await json('/api/upload/' + encodeURIComponent(name), { method: 'PUT', headers: { 'content-type': 'text/html' }, body: body.toString() })
        expect(created.status, name.slice(0, 40)).toBe(201)
        const meta = await json(`/api/shares/${created.body.id as string}`)
        expect((meta.body.files as { name: string }[])[0]!.name).toBe(name)
        const dl = await fetch(created.body.downloadUrl as string)
        expect(dl.status).toBe(200)
        const disposition = dl.headers.get('content-disposition')!
        expect(disposition).toMatch(/^attachment; filename="[^"\r\n]*"; filename\*=UTF-8''[A-Za-z0-9%._~!$&+,;=:@-]+$/)
        expect(disposition).not.toMatch(/[\r\n]/)
        expect(dl.headers.get('x-injected')).toBeNull()
        if (name !== 'a'.repeat(10_000)) expect(decodeURIComponent(disposition.split("UTF-8''")[1]!)).toBe(name.replace(/[\u0000-\u001f\u202e]/g, ''))
        // App-served blobs also get nosniff and a sandbox CSP (S3 presigned URLs can only override
        // Content-Disposition/Type; they are served from the storage origin, never the app's).
        if (server.deps.store.kind === 'disk') {
          expect(dl.headers.get('x-content-type-options')).toBe('nosniff')
          expect(dl.headers.get('content-security-policy')).toContain('sandbox')
        }
      }
      // everything new sits inside the data dir, under server-generated keys
      const added = walk(server.dataDir).filter((p) => !before.has(p))
      for (const p of added) {
        expect(p.startsWith(server.dataDir)).toBe(true)
        expect(p).not.toMatch(/passwd|quo|evil|img|aaaa/)
      }
    })

    it('an upload over the size limit gets 413 and leaves nothing stored', async () => {
      const before = await countRows(server)
      const blobsBefore = walk(server.dataDir).length
      const big = randomFile(33 * MiB, 'too-big.bin')
      const multipart = await curl(['-F', `file=@${big.path}`, `${server.url}/api/upload`])
      expect(multipart.status).toBe(413)
      expect(JSON.parse(multipart.body).error.code).toBe('too_large')
      const put = await curl(['-T', big.path, `${server.url}/api/upload/too-big.bin`])
      expect(put.status).toBe(413)
      // chunked (no Content-Length): refused while streaming, the partial blob removed
      const chunked = await curl(['-H', 'Transfer-Encoding: chunked', '-T', big.path, `${server.url}/api/upload/too-big.bin`])
      expect(chunked.status).toBe(413)
      const browser = await json('/api/shares', { method: 'POST', body: JSON.stringify({ files: [{ name: 'x', size: 33 * MiB }] }) })
      expect(browser.status).toBe(413)
      expect(await countRows(server)).toEqual(before)
      if (server.deps.store.kind === 'disk') expect(walk(server.dataDir).length).toBe(blobsBefore)
    })

    it('bad input answers 400 with the API error shape and stores nothing', async () => {
      const before = await countRows(server)
      const cases: [string, RequestInit][] = [
        ['/api/shares', { method: 'POST', body: '{not json' }],
        ['/api/shares', { method: 'POST', body: JSON.stringify({ files: 'x' }) }],
        ['/api/shares', { method: 'POST', body: JSON.stringify({ files: [] }) }],
        ['/api/shares', { method: 'POST', body: JSON.stringify({ files: [{ name: 'a', size: -1 }] }) }],
        ['/api/shares', { method: 'POST', body: JSON.stringify({ files: [{ name: 'a', size: 1 }], expiresIn: -5 }) }],
        ['/api/shares', { method: 'POST', body: JSON.stringify({ files: [{ name: 'a', size: 1 }], expiresIn: 10 ** 12 }) }],
        ['/api/shares', { method: 'POST', body: JSON.stringify({ files: [{ name: 'a', size: 1 }], expiresIn: 40 * 86400 }) }],
        ['/api/shares', { method: 'POST', body: JSON.stringify({ files: [{ name: 'a', size: 1 }], maxDownloads: 0 }) }],
        ['/api/shares', { method: 'POST', body: JSON.stringify({ files: [{ name: 'a', size: 1 }], maxDownloads: 'one' }) }],
        ['/api/upload/x?expiresIn=-1', { method: 'PUT', body: 'abc' }],
        ['/api/upload/x?maxDownloads=abc', { method: 'PUT', body: 'abc' }],
      ]
      for (const [path, init] of cases) {
        const r = await json(path, init as RequestInit & { body?: string })
        expect(r.status, `${path} ${String(init.body)}`).toBe(400)
        expect(r.body.error).toEqual({ code: expect.stringMatching(/^invalid_(input|json)$/), message: expect.any(String), ...(r.body.error?.code === 'invalid_input' && 'details' in r.body.error ? { details: expect.anything() } : {}) })
      }
      const late = await curl(['-F', `file=@${randomFile(10).path}`, '-F', 'expiresIn=-3', `${server.url}/api/upload`])
      expect(late.status).toBe(400)
      expect(await countRows(server)).toEqual(before)
    })
  })
}

function walk(dir: string): string[] {
  const out: string[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...walk(p))
    else if (!p.includes(`${join(dir, 'db')}`)) out.push(p)
  }
  return out.filter((p) => !p.includes('/db/') && statSync(p).isFile())
}

async function countRows(server: TestServer) {
  const [row] = await server.deps.db.query<{ shares: number; files: number; live: number }>(
    `SELECT (SELECT count(*) FROM shares)::int AS shares, (SELECT count(*) FROM files)::int AS files, (SELECT count(*) FROM shares WHERE status <> 'deleted')::int AS live`,
  )
  return row
}

