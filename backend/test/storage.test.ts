import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { MIN_PART_SIZE } from '@sharesync/protocol'
import express from 'express'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../src/config'
import { errorMiddleware } from '../src/http/error-middleware'
import { originCheck, securityHeaders } from '../src/http/security'
import { blobStoreContract, newKey, type ContractSubject } from '../src/storage/blob-store.contract'
import { blobRouter } from '../src/storage/blob.routes'
import { DiskStore } from '../src/storage/disk-store'
import { openStore } from '../src/storage/open-store'
import { S3Store } from '../src/storage/s3-store'
import { startS3 } from './support/services'
import { mountTmpfs } from './support/tmpfs'

const SECRET = 'a-test-secret-that-is-long-enough-0123456789'
const MiB = 2 ** 20

/**
 * PUTs `chunks` to a URL with node's http client: chunked unless `length` is given. `between` runs
 * after the first chunk was written. Answers the status (0 when the connection was cut).
 */
function putSlowly(url: URL, chunks: Buffer[], opts: { length?: number; between?: () => Promise<void> } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = opts.length !== undefined ? { 'content-length': String(opts.length) } : {}
    const req = request(url, { method: 'PUT', headers }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (body += c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      res.on('error', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', () => resolve({ status: 0, body: '' }))
    const [first, ...rest] = chunks
    req.write(first ?? Buffer.alloc(0), (err) => {
      if (err) return reject(err)
      ;(opts.between ?? (async () => undefined))().then(() => {
        for (const c of rest) req.write(c)
        req.end()
      }, reject)
    })
  })
}

const waitUntil = async (what: string, check: () => boolean) => {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 20))
  if (!check()) throw new Error(`timed out waiting until ${what}`)
}

/**
 * The disk store behind the same middleware stack the app puts in front of it (security headers,
 * origin check, JSON body parser on /api, the one error middleware), on a real loopback port.
 */
async function openDisk(opts: { dir?: string } = {}): Promise<ContractSubject & { disk: DiskStore; root: string }> {
  const root = opts.dir ?? mkdtempSync(join(tmpdir(), 'sharesync-blobs-'))
  const disk = await DiskStore.open({ dir: join(root, 'blobs'), secret: SECRET })
  const app = express()
  app.use(securityHeaders())
  app.use('/api', originCheck(undefined))
  app.use('/api', express.json({ limit: '256kb' }))
  app.use(blobRouter({ store: disk }))
  app.use(errorMiddleware(pino({ level: 'silent' })))
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  const { port } = server.address() as AddressInfo
  return {
    store: disk,
    disk,
    root,
    baseUrl: `http://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
      if (!opts.dir) rmSync(root, { recursive: true, force: true })
    },
  }
}

let s3: Awaited<ReturnType<typeof startS3>>
beforeAll(async () => {
  s3 = await startS3()
})
afterAll(async () => {
  await s3?.stop()
})

const s3Config = () => loadConfig({ ...s3.env, DATA_DIR: mkdtempSync(join(tmpdir(), 'sharesync-cfg-')), SESSION_SECRET: SECRET })

blobStoreContract('disk', () => openDisk())
blobStoreContract('S3 (s3rver)', async () => {
  const store = await openStore(s3Config())
  expect(store).toBeInstanceOf(S3Store)
  return { store, baseUrl: s3.url, close: async () => store.close?.() }
})

describe('disk store: signed URLs and how blobs are served', () => {
  let subject: Awaited<ReturnType<typeof openDisk>>
  const at = (path: string) => new URL(path, subject.baseUrl)
  const body = randomBytes(1000)
  let key: string

  beforeAll(async () => {
    subject = await openDisk()
    key = newKey()
    await subject.disk.put(key, Readable.from([body]), { contentType: 'application/octet-stream' })
  })
  afterAll(async () => {
    await subject?.close()
  })

  const signGet = (opts: { filename?: string; contentType?: string } = {}) =>
    subject.disk.signGet(key, { filename: opts.filename ?? 'report.pdf', contentType: opts.contentType ?? 'application/pdf', ttlSeconds: 60 })

  it('URLs are root-relative without PUBLIC_URL and absolute with it', async () => {
    expect(await signGet()).toMatch(/^\/api\/blobs\/o\//)
    const withPublic = new DiskStore({ dir: join(subject.root, 'blobs'), secret: SECRET, publicUrl: 'https://share.example.org/' })
    expect(await withPublic.signGet(key, { filename: 'a', contentType: 'text/plain', ttlSeconds: 60 })).toMatch(/^https:\/\/share\.example\.org\/api\/blobs\/o\//)
  })

  it('a download URL with any signed field changed is refused with 403', async () => {
    const signed = new URL(await signGet(), 'http://x')
    const variants: URL[] = []
    const change = (edit: (u: URL) => void) => {
      const u = new URL(signed)
      edit(u)
      variants.push(u)
    }
    const sig = signed.searchParams.get('sig')!
    change((u) => u.searchParams.set('sig', (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1)))
    change((u) => u.searchParams.set('sig', sig.slice(0, -1) + (sig.endsWith('A') ? 'B' : 'A')))
    change((u) => u.searchParams.set('exp', String(Number(u.searchParams.get('exp')) + 3600)))
    change((u) => u.searchParams.set('fn', 'report.html'))
    change((u) => u.searchParams.set('ct', 'text/html'))
    change((u) => u.searchParams.delete('sig'))
    change((u) => (u.pathname = u.pathname.replace(/.$/, (c) => (c === 'a' ? 'b' : 'a'))))
    for (const u of variants) {
      const res = await fetch(at(u.pathname + u.search))
      const text = await res.text()
      expect(text).not.toContain(body.toString('latin1').slice(0, 20))
      if (!u.searchParams.has('sig')) {
        expect(res.status).toBe(400)
        continue
      }
      expect(res.status, u.toString()).toBe(403)
      expect(JSON.parse(text)).toMatchObject({ error: { code: 'signature_invalid' } })
    }
    // The untouched URL still works, so the refusals above are about the changes.
    expect((await fetch(at(signed.pathname + signed.search))).status).toBe(200)
  })

  it('a part URL with its upload, part number or key changed is refused with 403 and stores nothing', async () => {
    const partKey = newKey()
    const { uploadId } = await subject.disk.createMultipart(partKey, { contentType: 'text/plain' })
    const other = await subject.disk.createMultipart(partKey, { contentType: 'text/plain' })
    const signed = new URL(await subject.disk.signPart(partKey, uploadId, 1, 60, { size: 1 << 20 }), 'http://x')
    const tampered = [
      signed.pathname.replace(uploadId, other.uploadId) + signed.search,
      signed.pathname.replace(/\/1$/, '/2') + signed.search,
      signed.pathname + signed.search.replace(encodeURIComponent(partKey), encodeURIComponent(newKey())),
    ]
    for (const path of tampered) {
      const res = await fetch(at(path), { method: 'PUT', body: Buffer.from('forged') })
      expect(res.status, path).toBe(403)
      expect(await res.json()).toMatchObject({ error: { code: 'signature_invalid' } })
    }
    expect(await subject.disk.listParts(partKey, uploadId)).toEqual([])
    expect(await subject.disk.listParts(partKey, other.uploadId)).toEqual([])
  })

  it('a single Range answers 206 with exactly those bytes; an impossible range answers 416', async () => {
    const url = await signGet()
    const middle = await fetch(at(url), { headers: { Range: 'bytes=100-199' } })
    expect(middle.status).toBe(206)
    expect(middle.headers.get('content-range')).toBe(`bytes 100-199/${body.length}`)
    expect(Buffer.from(await middle.arrayBuffer()).equals(body.subarray(100, 200))).toBe(true)

    const tail = await fetch(at(url), { headers: { Range: 'bytes=-10' } })
    expect(tail.status).toBe(206)
    expect(Buffer.from(await tail.arrayBuffer()).equals(body.subarray(body.length - 10))).toBe(true)

    const resume = await fetch(at(url), { headers: { Range: 'bytes=990-' } })
    expect(Buffer.from(await resume.arrayBuffer()).equals(body.subarray(990))).toBe(true)

    const beyond = await fetch(at(url), { headers: { Range: `bytes=${body.length + 10}-` } })
    expect(beyond.status).toBe(416)
    expect(beyond.headers.get('content-range')).toBe(`bytes */${body.length}`)
    expect(await beyond.json()).toMatchObject({ error: { code: 'range_not_satisfiable' } })
  })

  it('HEAD answers the size and headers without a body', async () => {
    const res = await fetch(at(await signGet()), { method: 'HEAD' })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-length')).toBe(String(body.length))
    expect(res.headers.get('accept-ranges')).toBe('bytes')
    expect((await res.arrayBuffer()).byteLength).toBe(0)
  })

  it('served blobs are sandboxed attachments that never render on the app origin', async () => {
    for (const contentType of ['text/html', 'image/svg+xml', 'application/xhtml+xml', 'text/html; charset=utf-8', 'bogus\r\nX-Evil: 1']) {
      const res = await fetch(at(await signGet({ filename: 'page.html', contentType })))
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toBe('application/octet-stream')
      expect(res.headers.get('content-disposition')).toMatch(/^attachment;/)
      expect(res.headers.get('x-content-type-options')).toBe('nosniff')
      expect(res.headers.get('content-security-policy')).toBe('sandbox')
      expect(res.headers.get('cache-control')).toBe('private, no-store')
      expect(res.headers.get('x-evil')).toBeNull()
      await res.arrayBuffer()
    }
    const pdf = await fetch(at(await signGet({ contentType: 'application/pdf' })))
    expect(pdf.headers.get('content-type')).toBe('application/pdf')
  })

  it('a hostile key is refused and nothing outside the data dir is touched', async () => {
    const sentinel = join(subject.root, 'outside.txt')
    writeFileSync(sentinel, 'keep me')
    const before = readdirSync(subject.root).sort()
    const hostile = ['../outside.txt', '../../etc/passwd', '/etc/passwd', 'a/../../outside.txt', 'a//b', 'a\\..\\b', '', '.', '..', 'a/./b', 'x'.repeat(2000), 'a/b\u0000c']
    for (const bad of hostile) {
      await expect(subject.disk.put(bad, Readable.from([Buffer.from('pwned')]), { contentType: 'text/plain' }), bad).rejects.toMatchObject({ code: 'invalid_input' })
      await expect(subject.disk.head(bad)).rejects.toMatchObject({ code: 'invalid_input' })
      await expect(subject.disk.delete(bad)).rejects.toMatchObject({ code: 'invalid_input' })
      await expect(subject.disk.createMultipart(bad, { contentType: 'text/plain' })).rejects.toMatchObject({ code: 'invalid_input' })
      await expect(subject.disk.signGet(bad, { filename: 'a', contentType: 'text/plain', ttlSeconds: 60 })).rejects.toMatchObject({ code: 'invalid_input' })
    }
    // Over HTTP, an encoded traversal in the object path is refused before any file is opened.
    for (const path of ['/api/blobs/o/..%2Foutside.txt', '/api/blobs/o/..%2F..%2Foutside.txt', '/api/blobs/o/%2e%2e/outside.txt']) {
      const res = await fetch(at(`${path}?exp=9999999999&fn=a&ct=text%2Fplain&sig=x`))
      expect([400, 403, 404], path).toContain(res.status)
      expect(await res.text()).not.toContain('keep me')
    }
    expect(readdirSync(subject.root).sort()).toEqual(before)
    expect(existsSync(join(subject.root, 'blobs', 'pwned'))).toBe(false)
  })

  it('a part over the upload\'s part size limit is refused with 413 and not kept', async () => {
    const partKey = newKey()
    const { uploadId } = await subject.disk.createMultipart(partKey, { contentType: 'text/plain', maxPartBytes: 1024 })
    const url = at(await subject.disk.signPart(partKey, uploadId, 1, 60, { size: 1 << 20 }))
    const declared = await fetch(url, { method: 'PUT', body: randomBytes(4096) })
    expect(declared.status).toBe(413)
    expect(await declared.json()).toMatchObject({ error: { code: 'too_large' } })

    // Without a Content-Length (chunked), the limit is enforced while the bytes stream in.
    const chunked = Readable.from(Array.from({ length: 8 }, () => randomBytes(512)))
    await expect(subject.disk.writePart(partKey, uploadId, 1, chunked)).rejects.toMatchObject({ code: 'too_large' })
    expect(await subject.disk.listParts(partKey, uploadId)).toEqual([])

    const ok = await fetch(url, { method: 'PUT', body: randomBytes(1024) })
    expect(ok.status).toBe(200)
    expect(ok.headers.get('access-control-expose-headers')).toMatch(/ETag/i)
  })

  it('a part sent with a JSON content type is refused with 415 instead of being stored mangled', async () => {
    const partKey = newKey()
    const { uploadId } = await subject.disk.createMultipart(partKey, { contentType: 'application/json' })
    const res = await fetch(at(await subject.disk.signPart(partKey, uploadId, 1, 60, { size: 1 << 20 })), {
      method: 'PUT',
      body: JSON.stringify({ a: 1 }),
      headers: { 'Content-Type': 'application/json' },
    })
    expect(res.status).toBe(415)
    expect(await subject.disk.listParts(partKey, uploadId)).toEqual([])
  })

  it('re-sending a part replaces it: the stored part is the last one sent', async () => {
    const partKey = newKey()
    const { uploadId } = await subject.disk.createMultipart(partKey, { contentType: 'text/plain' })
    const url = at(await subject.disk.signPart(partKey, uploadId, 1, 60, { size: 1 << 20 }))
    await fetch(url, { method: 'PUT', body: Buffer.from('first attempt') })
    const second = await fetch(url, { method: 'PUT', body: Buffer.from('second') })
    const parts = await subject.disk.listParts(partKey, uploadId)
    expect(parts).toEqual([{ partNumber: 1, etag: second.headers.get('etag'), size: 6 }])
    expect(parts[0]!.etag).toBe(`"${createHash('md5').update('second').digest('hex')}"`)
  })

  it('an upload started before a restart (or on another instance sharing the dir) can be resumed and completed', async () => {
    const partKey = newKey()
    const { uploadId } = await subject.disk.createMultipart(partKey, { contentType: 'text/plain' })
    const res = await fetch(at(await subject.disk.signPart(partKey, uploadId, 1, 60, { size: 1 << 20 })), { method: 'PUT', body: Buffer.from('survives restarts') })
    const etag = res.headers.get('etag')!

    const restarted = await DiskStore.open({ dir: join(subject.root, 'blobs'), secret: SECRET })
    expect(await restarted.listParts(partKey, uploadId)).toEqual([{ partNumber: 1, etag, size: 17 }])
    expect(await restarted.completeMultipart(partKey, uploadId, [{ partNumber: 1, etag }])).toEqual({ size: 17 })
    // URLs signed by one instance verify on another: the key comes from the shared secret.
    const download = await fetch(at(await restarted.signGet(partKey, { filename: 'a.txt', contentType: 'text/plain', ttlSeconds: 60 })))
    expect(await download.text()).toBe('survives restarts')
  })

  it('completing an upload of 12 parts joins them in order, with no warning of listeners left behind', async () => {
    const warnings: string[] = []
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`)
    process.on('warning', onWarning)
    try {
      const partKey = newKey()
      const { uploadId } = await subject.disk.createMultipart(partKey, { contentType: 'application/octet-stream' })
      const bytes = Array.from({ length: 12 }, (_, i) => randomBytes(i === 11 ? 1234 : MIN_PART_SIZE))
      const parts = []
      for (const [i, b] of bytes.entries()) parts.push(await subject.disk.writePart(partKey, uploadId, i + 1, Readable.from([b])))
      expect(await subject.disk.completeMultipart(partKey, uploadId, parts)).toEqual({ size: 11 * MIN_PART_SIZE + 1234 })
      const opened = await subject.disk.openRead(partKey)
      const stored = Buffer.concat(await opened!.body.toArray())
      expect(stored.equals(Buffer.concat(bytes))).toBe(true)
      // warnings are emitted on the next tick
      await new Promise((resolve) => setImmediate(resolve))
      expect(warnings.filter((w) => w.includes('MaxListeners'))).toEqual([])
    } finally {
      process.off('warning', onWarning)
    }
  })

  it('an upload cannot be completed, listed or aborted through another key', async () => {
    const partKey = newKey()
    const { uploadId } = await subject.disk.createMultipart(partKey, { contentType: 'text/plain' })
    const res = await fetch(at(await subject.disk.signPart(partKey, uploadId, 1, 60, { size: 1 << 20 })), { method: 'PUT', body: Buffer.from('mine') })
    const etag = res.headers.get('etag')!
    const intruder = newKey()
    await expect(subject.disk.listParts(intruder, uploadId)).rejects.toMatchObject({ code: 'not_found' })
    await expect(subject.disk.completeMultipart(intruder, uploadId, [{ partNumber: 1, etag }])).rejects.toMatchObject({ code: 'not_found' })
    await subject.disk.abortMultipart(intruder, uploadId)
    expect(await subject.disk.listParts(partKey, uploadId)).toHaveLength(1)
  })

  it('a part URL accepts at most the bytes it was signed for: a 1-byte part refuses 16 MiB with 413 and keeps nothing', async () => {
    const partKey = newKey()
    const { uploadId } = await subject.disk.createMultipart(partKey, { contentType: 'text/plain', maxPartBytes: 16 * MiB })
    const signed = at(await subject.disk.signPart(partKey, uploadId, 1, 60, { size: 1 }))
    const declared = await fetch(signed, { method: 'PUT', body: randomBytes(16 * MiB) })
    expect(declared.status).toBe(413)
    expect(await declared.json()).toMatchObject({ error: { code: 'too_large' } })
    // Chunked (no Content-Length): refused while the bytes arrive.
    const chunked = await putSlowly(signed, Array.from({ length: 64 }, () => randomBytes(256 * 1024)))
    expect(chunked.status).toBe(413)
    expect(await subject.disk.listParts(partKey, uploadId)).toEqual([])
    // The limit is signed: raising it in the URL breaks the signature.
    const raised = new URL(signed)
    raised.searchParams.set('max', String(16 * MiB))
    expect((await fetch(raised, { method: 'PUT', body: randomBytes(2) })).status).toBe(403)
    expect(await subject.disk.listParts(partKey, uploadId)).toEqual([])
    expect(readdirSync(join(subject.root, 'blobs', 'tmp'))).toEqual([])
    // The one byte the part holds is accepted.
    expect((await fetch(signed, { method: 'PUT', body: Buffer.from('x') })).status).toBe(200)
    expect(await subject.disk.listParts(partKey, uploadId)).toMatchObject([{ partNumber: 1, size: 1 }])
  })

  it('a write whose body has already failed (a form refused meanwhile) leaves no temp file once it rejects, 30 times over', async () => {
    const own = await openDisk()
    try {
      const partKey = newKey()
      const { uploadId } = await own.disk.createMultipart(partKey, { contentType: 'application/octet-stream' })
      for (let i = 0; i < 30; i++) {
        const failed = () => {
          const body = new Readable({ read() {} })
          body.on('error', () => undefined)
          body.destroy(new Error('the form was refused'))
          return body
        }
        await expect(own.disk.put(newKey(), failed(), { contentType: 'application/octet-stream' })).rejects.toThrow()
        await expect(own.disk.writePart(partKey, uploadId, 1, failed())).rejects.toThrow()
        // Checked the moment the failure is reported, as a client that got its error answer would.
        expect(readdirSync(join(own.root, 'blobs', 'tmp')), `run ${i}`).toEqual([])
      }
    } finally {
      await own.close()
    }
  })

  it('a part still arriving when its upload is aborted answers 404 and leaves no file anywhere in the store', async () => {
    const own = await openDisk()
    try {
      const partKey = newKey()
      const { uploadId } = await own.disk.createMultipart(partKey, { contentType: 'application/octet-stream' })
      const signed = new URL(await own.disk.signPart(partKey, uploadId, 1, 60, { size: 2 * MiB }), own.baseUrl)
      const answer = await putSlowly(signed, [randomBytes(MiB), randomBytes(MiB)], {
        length: 2 * MiB,
        between: async () => {
          await waitUntil('the part is being written', () => readdirSync(join(own.root, 'blobs', 'tmp')).length === 1)
          await own.disk.abortMultipart(partKey, uploadId)
        },
      })
      expect(answer.status).toBe(404)
      expect(readdirSync(join(own.root, 'blobs', 'tmp'))).toEqual([])
      expect(readdirSync(join(own.root, 'blobs', 'multipart'))).toEqual([])
      expect(readdirSync(join(own.root, 'blobs', 'objects'))).toEqual([])
    } finally {
      await own.close()
    }
  })

  it('temp files of dead writes are swept while the store runs; a slow live write keeps its temp file', async () => {
    const root = mkdtempSync(join(tmpdir(), 'sharesync-sweep-'))
    const store = await DiskStore.open({ dir: join(root, 'blobs'), secret: SECRET, tempMaxIdleMs: 60_000, sweepEveryMs: 50 })
    try {
      const tmp = join(root, 'blobs', 'tmp')
      // A write that died (its process was killed): idle for longer than the limit.
      writeFileSync(join(tmp, 'dead-request'), randomBytes(1000))
      const old = new Date(Date.now() - 120_000)
      utimesSync(join(tmp, 'dead-request'), old, old)
      await waitUntil('the dead temp file is swept', () => !existsSync(join(tmp, 'dead-request')))

      // A live write whose client went quiet for a while: this process knows it is alive.
      let release!: () => void
      const paused = new Promise<void>((r) => (release = r))
      const body = Readable.from(
        (async function* () {
          yield randomBytes(1000)
          await paused
          yield randomBytes(1000)
        })(),
      )
      const partKey = newKey()
      const { uploadId } = await store.createMultipart(partKey, { contentType: 'text/plain' })
      const writing = store.writePart(partKey, uploadId, 1, body)
      await waitUntil('the part is being written', () => readdirSync(tmp).length === 1)
      const [live] = readdirSync(tmp)
      utimesSync(join(tmp, live!), old, old)
      await store.sweepTemp(0)
      expect(readdirSync(tmp)).toEqual([live])
      release()
      expect(await writing).toMatchObject({ partNumber: 1, size: 2000 })
      expect(readdirSync(tmp)).toEqual([])
    } finally {
      await store.close()
      rmSync(root, { recursive: true, force: true })
    }
  })

  it('a full disk answers 507 insufficient_storage with a clear message, and leaves nothing behind', async (ctx) => {
    const root = mkdtempSync(join(tmpdir(), 'sharesync-full-'))
    const mounted = mountTmpfs(join(root, 'blobs'), 2 * MiB)
    if ('error' in mounted) {
      rmSync(root, { recursive: true, force: true })
      ctx.skip(mounted.error)
      return
    }
    const own = await openDisk({ dir: root })
    try {
      const blobs = join(root, 'blobs')
      const partKey = newKey()
      const { uploadId } = await own.disk.createMultipart(partKey, { contentType: 'application/octet-stream' })
      const signed = new URL(await own.disk.signPart(partKey, uploadId, 1, 60, { size: 3 * MiB }), own.baseUrl)
      const part = await fetch(signed, { method: 'PUT', body: randomBytes(3 * MiB) })
      expect(part.status).toBe(507)
      const { error } = (await part.json()) as { error: { code: string; message: string } }
      expect(error.code).toBe('insufficient_storage')
      expect(error.message).toMatch(/out of storage space/)
      expect(readdirSync(join(blobs, 'tmp'))).toEqual([])
      expect(await own.disk.listParts(partKey, uploadId)).toEqual([])

      const key = newKey()
      await expect(own.disk.put(key, Readable.from([randomBytes(3 * MiB)]), { contentType: 'text/plain' })).rejects.toMatchObject({ code: 'insufficient_storage', status: 507 })
      expect(readdirSync(join(blobs, 'tmp'))).toEqual([])
      expect(await own.disk.head(key)).toBeNull()

      // Once it fits again, it works: nothing of the failed writes holds space.
      expect((await fetch(new URL(await own.disk.signPart(partKey, uploadId, 1, 60, { size: MiB }), own.baseUrl), { method: 'PUT', body: randomBytes(MiB) })).status).toBe(200)
    } finally {
      await own.close()
      mounted.unmount()
      rmSync(root, { recursive: true, force: true })
    }
  })

  it('temp files left by a crashed write are swept on start, fresh ones (another instance\'s) are kept', async () => {
    const tmp = join(subject.root, 'blobs', 'tmp')
    writeFileSync(join(tmp, 'crashed'), randomBytes(100))
    writeFileSync(join(tmp, 'in-progress'), randomBytes(100))
    const dayAgo = new Date(Date.now() - 25 * 3600 * 1000)
    utimesSync(join(tmp, 'crashed'), dayAgo, dayAgo)
    await DiskStore.open({ dir: join(subject.root, 'blobs'), secret: SECRET })
    expect(readdirSync(tmp)).toEqual(['in-progress'])
    rmSync(join(tmp, 'in-progress'))
  })

  it('while running, scratch of dead writes is swept (temp files, half-written parts, uploads without metadata); live ones stay', async () => {
    const blobs = join(subject.root, 'blobs')
    const hourAgo = new Date(Date.now() - 3600 * 1000)
    const age = (path: string) => utimesSync(path, hourAgo, hourAgo)
    writeFileSync(join(blobs, 'tmp', 'dead-put'), randomBytes(10))
    age(join(blobs, 'tmp', 'dead-put'))
    writeFileSync(join(blobs, 'tmp', 'live-put'), randomBytes(10))
    const key = newKey()
    const { uploadId } = await subject.disk.createMultipart(key, { contentType: 'text/plain' })
    const uploadDir = join(blobs, 'multipart', uploadId)
    writeFileSync(join(uploadDir, '.tmp-deadpart'), randomBytes(10))
    age(join(uploadDir, '.tmp-deadpart'))
    writeFileSync(join(uploadDir, '.tmp-livepart'), randomBytes(10))
    const orphanDir = join(blobs, 'multipart', 'A'.repeat(22))
    mkdirSync(orphanDir)
    writeFileSync(join(orphanDir, '1.part'), randomBytes(10))
    age(orphanDir)

    expect(await subject.disk.inventory.sweepScratch(10 * 60_000)).toBe(3)
    expect(readdirSync(join(blobs, 'tmp'))).toEqual(['live-put'])
    expect(readdirSync(uploadDir).sort()).toEqual(['.tmp-livepart', 'upload.json'])
    expect(existsSync(orphanDir)).toBe(false)
    // the live upload is untouched and still listed
    expect((await subject.disk.listParts(key, uploadId))).toEqual([])
    rmSync(join(blobs, 'tmp', 'live-put'))
    await subject.disk.abortMultipart(key, uploadId)
  })
})

describe('S3 store: public endpoint', () => {
  it('URLs for the browser use S3_PUBLIC_ENDPOINT while the server talks to S3_ENDPOINT', async () => {
    const publicEndpoint = s3.url.replace('127.0.0.1', 'localhost')
    const store = await openStore(loadConfig({ ...s3.env, S3_PUBLIC_ENDPOINT: publicEndpoint, DATA_DIR: mkdtempSync(join(tmpdir(), 'sharesync-cfg-')), SESSION_SECRET: SECRET }))
    const key = newKey()
    await store.put(key, Readable.from([Buffer.from('via the public name')]), { contentType: 'text/plain' })
    const get = new URL(await store.signGet(key, { filename: 'a.txt', contentType: 'text/plain', ttlSeconds: 60 }))
    const upload = newKey()
    const { uploadId } = await store.createMultipart(upload, { contentType: 'text/plain' })
    const part = new URL(await store.signPart(upload, uploadId, 1, 60, { size: 10 }))
    expect([get.host, part.host]).toEqual([new URL(publicEndpoint).host, new URL(publicEndpoint).host])
    expect(await (await fetch(get)).text()).toBe('via the public name')
    await store.close?.()
  })
})

describe('S3 store: part URLs carry their size', () => {
  it('a part URL signs its exact Content-Length, so an S3 that checks signatures refuses any other length', async () => {
    // s3rver does not verify signatures: what is proven here is what a verifying S3 (AWS, MinIO, R2)
    // is given to verify. The service also refuses oversize parts at completion (shares suite).
    const store = await openStore(s3Config())
    const key = newKey()
    const { uploadId } = await store.createMultipart(key, { contentType: 'text/plain' })
    for (let attempt = 0; ; attempt++) {
      const one = new URL(await store.signPart(key, uploadId, 1, 60, { size: 1 }))
      const big = new URL(await store.signPart(key, uploadId, 1, 60, { size: 16 * MiB }))
      const again = new URL(await store.signPart(key, uploadId, 1, 60, { size: 1 }))
      const date = (u: URL) => u.searchParams.get('X-Amz-Date')
      if (date(one) !== date(big) || date(big) !== date(again)) {
        if (attempt < 3) continue // signed across a second boundary: sign again
        throw new Error('could not sign three URLs within one second')
      }
      expect(one.searchParams.get('X-Amz-SignedHeaders')?.split(';')).toContain('content-length')
      const sig = (u: URL) => u.searchParams.get('X-Amz-Signature')
      // Same request, same time: the same signature. Only the length differs: another signature.
      expect(sig(one)).toBe(sig(again))
      expect(sig(big)).not.toBe(sig(one))
      break
    }
    await store.abortMultipart(key, uploadId)
    await store.close?.()
  })
})

describe('S3 store: an outage answers storage_unavailable quickly', () => {
  it('calls fail with storage_unavailable within seconds while S3 is down, and work again once it is back', async () => {
    const store = await openStore(s3Config())
    expect(store).toBeInstanceOf(S3Store)
    const key = newKey()
    await store.put(key, Readable.from([Buffer.from('before the outage')]), { contentType: 'text/plain' })

    await s3.stop()
    const calls: [string, () => Promise<unknown>][] = [
      ['ping', () => store.ping()],
      ['head', () => store.head(key)],
      ['createMultipart', () => store.createMultipart(newKey(), { contentType: 'text/plain' })],
      ['listParts', () => store.listParts(key, 'some-upload-id')],
      ['put', () => store.put(newKey(), Readable.from([Buffer.from('x')]), { contentType: 'text/plain' })],
      ['delete', () => store.delete(key)],
    ]
    for (const [name, call] of calls) {
      const started = Date.now()
      await expect(call(), name).rejects.toMatchObject({ code: 'storage_unavailable', status: 503 })
      expect(Date.now() - started, name).toBeLessThan(5000)
    }

    await s3.restart()
    await expect(store.ping()).resolves.toBeUndefined()
    const again = newKey()
    await store.put(again, Readable.from([Buffer.from('after the outage')]), { contentType: 'text/plain' })
    expect(await store.head(again)).toEqual({ size: 16 })
    await store.close?.()
  })

  it('a hung S3 (process frozen) answers storage_unavailable instead of hanging the request', async () => {
    const store = await openStore(s3Config())
    const key = newKey()
    await store.put(key, Readable.from([Buffer.from('x')]), { contentType: 'text/plain' })
    s3.pause()
    try {
      const started = Date.now()
      await expect(store.head(key)).rejects.toMatchObject({ code: 'storage_unavailable' })
      // Two attempts of a 5 s idle timeout, plus the SDK's retry back-off.
      expect(Date.now() - started).toBeLessThan(13_000)
    } finally {
      s3.resume()
    }
    expect(await store.head(key)).toEqual({ size: 1 })
    await store.close?.()
  })
})
