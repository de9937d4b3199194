/**
 * End-to-end encrypted shares on the real server: encrypted in Node with @sharesync/crypto (as the
 * command-line client will), uploaded part by part to the signed URLs, on PGlite + disk store and on
 * PostgreSQL + S3 (s3rver). The server keeps ciphertext, encrypted sizes and an opaque envelope; its
 * storage and database hold no plaintext; the hostile inputs of the new fields are refused cleanly.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import {
  CHUNK_SIZE,
  ShareKey,
  decryptStream,
  encryptedSize,
  newSecret,
  openMetadata,
  partCount,
  sealMetadata,
  sealPart,
} from '@sharesync/crypto'
import type { AdminShare, MyShare, Page, PublicConfig, SettingsResponse, ShareMetadata } from '@sharesync/protocol'
import { MAX_ENCRYPTED_METADATA_LENGTH } from '@sharesync/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { curl, randomFile } from './support/files'
import { startTestServer, type TestServer } from './support/harness'
import { browserFetch, CookieJar, signInFlow, startOAuthServer, type LocalOAuth } from './support/oauth'
import { createDatabase, startPostgres, startS3, type ServiceHandle } from './support/services'

const MiB = 2 ** 20
const MARKER = `PLAINTEXT-MARKER-${Math.random().toString(36).slice(2)}`
const ROOT = { sub: 'g-root', email: 'root@example.com', name: 'Root', email_verified: true }

let pg: ServiceHandle
let s3: Awaited<ReturnType<typeof startS3>>
let oauth: LocalOAuth
beforeAll(async () => {
  ;[pg, s3, oauth] = await Promise.all([startPostgres(), startS3(), startOAuthServer()])
})
afterAll(async () => {
  await Promise.all([pg?.stop(), s3?.stop(), oauth?.stop()])
})

/** Plaintext that is easy to look for: the marker, over and over. */
function markedBytes(size: number): Uint8Array {
  const unit = Buffer.from(`${MARKER}\n`)
  const out = Buffer.alloc(size)
  for (let at = 0; at < size; at += unit.length) unit.copy(out, at)
  return new Uint8Array(out)
}

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    return statSync(p).isDirectory() ? filesUnder(p) : [p]
  })
}

interface PlainFile {
  name: string
  type: string
  bytes: Uint8Array
}

const PAIRINGS = [
  { name: 'PGlite + disk store', env: async () => ({}), blobs: (server: TestServer) => join(server.dataDir, 'blobs') },
  {
    name: 'PostgreSQL + S3 (s3rver)',
    env: async () => ({ DATABASE_URL: await createDatabase(pg.url, `e2e_${Date.now()}`), ...s3.env }),
    blobs: () => s3.dir,
  },
]

describe.each(PAIRINGS)('end-to-end encrypted shares on $name', (pairing) => {
  let server: TestServer
  let root: CookieJar

  beforeAll(async () => {
    server = await startTestServer({
      // Not a multiple of 64 KiB on purpose: encrypted files get their part size rounded up.
      PART_SIZE: '5300000',
      MAX_FILE_SIZE: '64MiB',
      UPLOAD_RATE_LIMIT: '1000/1h',
      ADMIN_EMAILS: ROOT.email,
      ...oauth.env,
      ...(await pairing.env()),
    })
    oauth.setUser(ROOT)
    root = new CookieJar()
    await signInFlow(server.url, root)
  })
  afterAll(() => server?.close())

  const api = async <T = Record<string, unknown>>(path: string, init: { method?: string; body?: unknown; headers?: Record<string, string>; raw?: string } = {}) => {
    const res = await server.fetch(path, {
      method: init.method ?? (init.body !== undefined || init.raw !== undefined ? 'POST' : 'GET'),
      headers: { 'content-type': 'application/json', ...(init.headers ?? {}) },
      body: init.raw ?? (init.body === undefined ? undefined : JSON.stringify(init.body)),
    })
    return { status: res.status, body: (await res.json().catch(() => null)) as T & { error?: { code: string; message: string } } }
  }
  const asRoot = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await browserFetch(root, `${server.url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${await res.text()}`)
    return (await res.json()) as T
  }
  const shareCount = async () => Number((await server.deps.db.query<{ n: string }>('SELECT count(*) AS n FROM shares'))[0]!.n)

  /** What the web app does: derive keys, seal the names, create, encrypt and PUT every part, complete, finalize. */
  async function uploadEncrypted(files: PlainFile[], opts: { password?: string; maxDownloads?: number; jar?: CookieJar } = {}) {
    const secret = newSecret()
    const key = await ShareKey.derive(secret, opts.password ?? null)
    const metadata = await sealMetadata(key, { files: files.map((f) => ({ name: f.name, type: f.type })) })
    const body = {
      encrypted: true,
      metadata,
      files: files.map((f) => ({ size: encryptedSize(f.bytes.length) })),
      ...(key.accessToken ? { password: key.accessToken } : {}),
      ...(opts.maxDownloads ? { maxDownloads: opts.maxDownloads } : {}),
    }
    const created = opts.jar
      ? await browserFetch(opts.jar, `${server.url}/api/shares`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(
          async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }),
        )
      : await api('/api/shares', { body })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    const { id, ownerToken } = created.body as { id: string; ownerToken: string }
    const owner = { 'x-owner-token': ownerToken }
    const declared = created.body.files as { id: string; name: string; partSize: number; partCount: number }[]
    for (const [i, f] of declared.entries()) {
      const plain = files[i]!.bytes
      expect(f.partSize % CHUNK_SIZE).toBe(0)
      expect(f.partCount).toBe(partCount(plain.length, f.partSize))
      expect(f.name).toBe(`file-${i + 1}.encrypted`)
      const fileKey = await key.fileKey(i)
      const numbers = Array.from({ length: f.partCount }, (_, n) => n + 1)
      const signed = await api<{ parts: { partNumber: number; url: string }[] }>(`/api/shares/${id}/files/${f.id}/parts`, { body: { partNumbers: numbers }, headers: owner })
      const etags: { partNumber: number; etag: string }[] = []
      for (const { partNumber, url } of signed.body.parts) {
        const part = await sealPart(fileKey, plain.length, f.partSize, partNumber, async (s, e) => plain.subarray(s, e))
        const put = await fetch(url, { method: 'PUT', body: part })
        expect(put.status).toBe(200)
        etags.push({ partNumber, etag: put.headers.get('etag') ?? '' })
      }
      const done = await api(`/api/shares/${id}/files/${f.id}/complete`, { body: { parts: etags }, headers: owner })
      expect(done.status, JSON.stringify(done.body)).toBe(200)
      expect(done.body).toEqual({ size: encryptedSize(plain.length) })
    }
    expect((await api(`/api/shares/${id}/finalize`, { method: 'POST', headers: owner })).status).toBe(200)
    return { id, ownerToken, key, secret }
  }

  /** What the recipient's page does: fetch the download URL and decrypt it as it streams. */
  async function downloadDecrypted(id: string, fileId: string, key: ShareKey, index: number, expectedSize: number): Promise<Uint8Array> {
    const issued = await api<{ url: string }>(`/api/shares/${id}/files/${fileId}/download`, { body: key.accessToken ? { password: key.accessToken } : {} })
    expect(issued.status).toBe(200)
    const res = await fetch(issued.body.url)
    expect(res.status).toBe(200)
    const chunks: Uint8Array[] = []
    const plain = res.body!.pipeThrough(decryptStream(await key.fileKey(index), { expectedSize }))
    for await (const c of plain) chunks.push(c)
    return Buffer.concat(chunks)
  }

  it('the server stores ciphertext and encrypted sizes only; the recipient decrypts byte-identical files and their names', async () => {
    const files: PlainFile[] = [
      { name: `secret-plan-${MARKER}.pdf`, type: 'application/pdf', bytes: markedBytes(12 * MiB + 333) },
      { name: `photo-${MARKER}.jpg`, type: 'image/jpeg', bytes: markedBytes(70_000) },
      { name: `empty-${MARKER}.txt`, type: 'text/plain', bytes: new Uint8Array(0) },
    ]
    const { id, key } = await uploadEncrypted(files)

    const meta = await api<ShareMetadata>(`/api/shares/${id}`)
    expect(meta.status).toBe(200)
    expect(meta.body.encrypted).toBe(true)
    expect(meta.body.files!.map((f) => [f.name, f.size, f.type])).toEqual(
      files.map((f, i) => [`file-${i + 1}.encrypted`, encryptedSize(f.bytes.length), 'application/octet-stream']),
    )
    expect(await openMetadata(key, meta.body.metadata!)).toEqual({ files: files.map((f) => ({ name: f.name, type: f.type })) })

    for (const [i, f] of meta.body.files!.entries()) {
      const plain = await downloadDecrypted(id, f.id, key, i, f.size)
      expect(Buffer.compare(plain, files[i]!.bytes)).toBe(0)
    }

    // Storage: the marker appears in no stored byte (blobs, parts, scratch files).
    const stored = filesUnder(pairing.blobs(server))
    expect(stored.length).toBeGreaterThan(0)
    for (const path of stored) expect(readFileSync(path).includes(MARKER), path).toBe(false)
    // Database: no name, type or marker in any row of any table.
    const tables = await server.deps.db.query<{ table_name: string }>(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`)
    for (const { table_name } of tables) {
      const rows = await server.deps.db.query<{ row: string }>(`SELECT row_to_json(t)::text AS row FROM "${table_name}" t`)
      for (const { row } of rows) {
        expect(row.includes(MARKER), table_name).toBe(false)
        expect(row.includes('application/pdf'), table_name).toBe(false)
      }
    }
  })

  it('curl gets the ciphertext from downloadUrl, under a neutral name', async () => {
    const { id, key } = await uploadEncrypted([{ name: `curl-${MARKER}.txt`, type: 'text/plain', bytes: markedBytes(1000) }])
    const out = join(server.dataDir, `curl-${id}`)
    const got = await curl(['-L', '-o', out, `${server.url}/api/shares/${id}/download`])
    expect(got.status).toBe(200)
    expect(got.headers).toMatch(/filename\*=UTF-8''file-1\.encrypted/i)
    const cipher = readFileSync(out)
    expect(cipher.length).toBe(encryptedSize(1000))
    expect(cipher.includes(MARKER)).toBe(false)
    const plain: Uint8Array[] = []
    const stream = new Blob([cipher]).stream().pipeThrough(decryptStream(await key.fileKey(0)))
    for await (const c of stream) plain.push(c)
    expect(Buffer.concat(plain).toString()).toBe(Buffer.from(markedBytes(1000)).toString())
  })

  it('a password-protected key: without the access token nothing but "encrypted" and "password required" comes back', async () => {
    const { id, key } = await uploadEncrypted([{ name: 'pw.txt', type: 'text/plain', bytes: markedBytes(5000) }], { password: 'tr0ub4dor & 3' })
    expect(key.accessToken).toMatch(/^[A-Za-z0-9_-]{43}$/)
    const locked = await api<ShareMetadata>(`/api/shares/${id}`)
    expect(locked.body).toEqual({ id, encrypted: true, passwordRequired: true, expiresAt: expect.any(String) })
    // The link alone (no token) gets no download URL; the password itself is not the server password either.
    expect((await api(`/api/shares/${id}/download`, { body: {} })).body.error?.code).toBe('password_required')
    expect((await api(`/api/shares/${id}/download`, { body: { password: 'tr0ub4dor & 3' } })).body.error?.code).toBe('password_invalid')
    const open = await api<ShareMetadata>(`/api/shares/${id}`, { headers: { 'x-share-password': key.accessToken! } })
    expect(open.body.metadata).toEqual(expect.any(String))
    expect((await openMetadata(key, open.body.metadata!)).files[0]!.name).toBe('pw.txt')
    const plain = await downloadDecrypted(id, open.body.files![0]!.id, key, 0, open.body.files![0]!.size)
    expect(Buffer.from(plain).equals(Buffer.from(markedBytes(5000)))).toBe(true)
  })

  it('the size limits apply to the encrypted size, which is what the server sees', async () => {
    const metadata = 'U1NN' + 'A'.repeat(60)
    const over = await api('/api/shares', { body: { encrypted: true, metadata, files: [{ size: 64 * MiB + 1 }] } })
    expect(over.status).toBe(413)
    expect(over.body.error?.code).toBe('too_large')
  })

  it('hostile encrypted requests are refused with 400/413 and store nothing', async () => {
    const metadata = 'U1NN' + 'A'.repeat(60)
    const file = { size: 100 }
    const before = await shareCount()
    const cases: [string, unknown, number, RegExp?][] = [
      ['a plaintext name sent with encrypted: true', { encrypted: true, metadata, files: [{ size: 100, name: 'leak.txt' }] }, 400, /name/],
      ['a plaintext type sent with encrypted: true', { encrypted: true, metadata, files: [{ size: 100, type: 'text/plain' }] }, 400, /type/],
      ['a plaintext note next to an encrypted share', { encrypted: true, metadata, files: [file], note: 'hello' }, 400, /note/],
      ['no metadata', { encrypted: true, files: [file] }, 400, /metadata/],
      ['metadata one character too long', { encrypted: true, metadata: 'A'.repeat(MAX_ENCRYPTED_METADATA_LENGTH + 1), files: [file] }, 400, /metadata/],
      ['metadata too short to be an envelope', { encrypted: true, metadata: 'AAAA', files: [file] }, 400, /metadata/],
      ['metadata in standard base64 with padding', { encrypted: true, metadata: `${'A+/'.repeat(20)}==`, files: [file] }, 400, /base64url/],
      ['metadata with whitespace', { encrypted: true, metadata: `${'A'.repeat(30)} \n${'A'.repeat(30)}`, files: [file] }, 400, /base64url/],
      ['metadata with non-ASCII letters', { encrypted: true, metadata: 'é'.repeat(60), files: [file] }, 400, /base64url/],
      ['metadata with a NUL', { encrypted: true, metadata: `${'A'.repeat(30)}\u0000${'A'.repeat(30)}`, files: [file] }, 400, /base64url/],
      ['metadata as a number', { encrypted: true, metadata: 12345, files: [file] }, 400],
      ['metadata as an object', { encrypted: true, metadata: { v: 1 }, files: [file] }, 400],
      ['metadata as an array', { encrypted: true, metadata: ['a'], files: [file] }, 400],
      ['metadata on a plain share', { files: [{ name: 'a.txt', size: 1, type: 'text/plain' }], metadata }, 400, /metadata is only for end-to-end encrypted shares/],
      ['metadata with encrypted: false', { encrypted: false, files: [{ name: 'a.txt', size: 1 }], metadata }, 400, /metadata is only for end-to-end encrypted shares/],
      ['encrypted as a string', { encrypted: 'true', metadata, files: [file] }, 400],
      ['encrypted as 1', { encrypted: 1, metadata, files: [file] }, 400],
      ['an encrypted file smaller than an empty one', { encrypted: true, metadata, files: [{ size: 31 }] }, 400],
      ['a negative size', { encrypted: true, metadata, files: [{ size: -1 }] }, 400],
      ['a fractional size', { encrypted: true, metadata, files: [{ size: 100.5 }] }, 400],
      ['a size past 2^53', { encrypted: true, metadata, files: [{ size: 2 ** 53 + 2 }] }, 400],
      ['no files', { encrypted: true, metadata, files: [] }, 400],
      ['101 files', { encrypted: true, metadata, files: Array.from({ length: 101 }, () => file) }, 400],
    ]
    for (const [what, body, status, message] of cases) {
      const res = await api('/api/shares', { body })
      expect(res.status, what).toBe(status)
      expect(res.body.error?.code, what).toBe('invalid_input')
      if (message) expect(res.body.error?.message, what).toMatch(message)
    }
    // A body past the JSON limit: 413, not a crash.
    const huge = await api('/api/shares', { raw: JSON.stringify({ encrypted: true, metadata: 'A'.repeat(400_000), files: [file] }) })
    expect(huge.status).toBe(413)
    expect(await shareCount()).toBe(before)
  })

  it('admins and owners see an encrypted share as encrypted, with its sizes and no names', async () => {
    const { id } = await uploadEncrypted(
      [
        { name: 'hidden-a.bin', type: 'application/x-a', bytes: markedBytes(1234) },
        { name: 'hidden-b.bin', type: 'application/x-b', bytes: markedBytes(99) },
      ],
      { jar: root },
    )
    const page = await asRoot<Page<AdminShare>>('GET', `/api/admin/shares?q=${id}`)
    expect(page.items).toEqual([expect.objectContaining({ id, encrypted: true, name: null, fileCount: 2, size: encryptedSize(1234) + encryptedSize(99) })])
    // A placeholder name is not a name: searching for it finds no encrypted share.
    const search = await asRoot<Page<AdminShare>>('GET', '/api/admin/shares?q=file-1.encrypted')
    expect(search.items.some((s) => s.encrypted)).toBe(false)
    const mine = await asRoot<{ shares: MyShare[] }>('GET', '/api/me/shares')
    expect(mine.shares.find((s) => s.id === id)).toEqual(expect.objectContaining({ encrypted: true, names: [], fileCount: 2, size: encryptedSize(1234) + encryptedSize(99) }))
  })

  it('an admin can make encryption the default, or require it: plain browser and curl uploads are then refused', async () => {
    const { settings } = await asRoot<SettingsResponse>('GET', '/api/admin/settings')
    expect(settings).toMatchObject({ encryptByDefault: false, requireEncryption: false })
    try {
      await asRoot('PUT', '/api/admin/settings', { ...settings, encryptByDefault: true })
      expect((await api<PublicConfig>('/api/config')).body.encryption).toEqual({ default: true, required: false })
      await asRoot('PUT', '/api/admin/settings', { ...settings, requireEncryption: true })
      expect((await api<PublicConfig>('/api/config')).body.encryption).toEqual({ default: true, required: true })
      const before = await shareCount()
      const plain = await api('/api/shares', { body: { files: [{ name: 'plain.txt', size: 10, type: 'text/plain' }] } })
      expect(plain.status).toBe(403)
      expect(plain.body.error?.code).toBe('encryption_required')
      const file = randomFile(100, 'plain-curl.txt')
      const byCurl = await curl(['-F', `file=@${file.path}`, `${server.url}/api/upload`])
      expect(byCurl.status).toBe(403)
      expect(JSON.parse(byCurl.body)).toMatchObject({ error: { code: 'encryption_required' } })
      const put = await curl(['-T', file.path, `${server.url}/api/upload/plain-curl.txt`])
      expect(put.status).toBe(403)
      expect(await shareCount()).toBe(before)
      // Encrypted uploads go through.
      await uploadEncrypted([{ name: 'allowed.txt', type: 'text/plain', bytes: markedBytes(10) }])
      // A settings body with a wrong type for the new fields is refused.
      const bad = await browserFetch(root, `${server.url}/api/admin/settings`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...settings, requireEncryption: 'yes' }),
      })
      expect(bad.status).toBe(400)
    } finally {
      await asRoot('PUT', '/api/admin/settings', settings)
    }
    expect((await api<PublicConfig>('/api/config')).body.encryption).toEqual({ default: false, required: false })
  })
})
