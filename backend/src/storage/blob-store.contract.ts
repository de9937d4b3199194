import { createHash, randomBytes } from 'node:crypto'
import { request } from 'node:http'
import { Readable } from 'node:stream'
import { MIN_PART_SIZE, cleanFilename } from '@sharesync/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AppError } from '../http/app-error'
import { BlobTooLargeError, type BlobStore } from './blob-store'

/** A store under test, plus where its root-relative URLs (disk store without PUBLIC_URL) resolve. */
export interface ContractSubject {
  store: BlobStore
  baseUrl: string
  close(): Promise<void>
}

/**
 * The behaviour every BlobStore must have, written once and run against each store (STYLE.md §1).
 * Parts and downloads go over real HTTP to the URLs the store signs, as a browser would use them.
 */
export function blobStoreContract(name: string, open: () => Promise<ContractSubject>): void {
  describe(`${name} blob store (contract)`, () => {
    let subject: ContractSubject
    let store: BlobStore
    const url = (signed: string) => new URL(signed, subject.baseUrl)
    const putPart = async (key: string, uploadId: string, partNumber: number, bytes: Buffer<ArrayBuffer>) => {
      const res = await fetch(url(await store.signPart(key, uploadId, partNumber, 60, { size: bytes.length })), { method: 'PUT', body: bytes })
      expect(res.status, await res.clone().text()).toBe(200)
      const etag = res.headers.get('etag')
      expect(etag).toBeTruthy()
      return { partNumber, etag: etag! }
    }
    const download = async (key: string, opts: { filename?: string; contentType?: string; ttlSeconds?: number } = {}) =>
      fetch(url(await store.signGet(key, { filename: opts.filename ?? 'file.bin', contentType: opts.contentType ?? 'application/octet-stream', ttlSeconds: opts.ttlSeconds ?? 60 })))

    beforeAll(async () => {
      subject = await open()
      store = subject.store
    })
    afterAll(async () => {
      await subject?.close()
    })

    it('a file uploaded in parts through signed URLs downloads byte-identical', async () => {
      const key = newKey()
      const first = randomBytes(MIN_PART_SIZE)
      const last = randomBytes(12_345)
      const { uploadId } = await store.createMultipart(key, { contentType: 'application/zip' })
      const sent = [await putPart(key, uploadId, 1, first), await putPart(key, uploadId, 2, last)]

      const listed = await store.listParts(key, uploadId)
      expect(listed).toEqual([
        { partNumber: 1, etag: sent[0]!.etag, size: first.length },
        { partNumber: 2, etag: sent[1]!.etag, size: last.length },
      ])
      expect(await store.completeMultipart(key, uploadId, sent)).toEqual({ size: first.length + last.length })
      expect(await store.head(key)).toEqual({ size: first.length + last.length })

      const res = await download(key, { filename: 'build.zip', contentType: 'application/zip' })
      expect(res.status).toBe(200)
      expect(sha256(Buffer.from(await res.arrayBuffer()))).toBe(sha256(Buffer.concat([first, last])))
    })

    it('an interrupted upload resumes from the parts it already holds', async () => {
      const key = newKey()
      const parts = [randomBytes(MIN_PART_SIZE), randomBytes(MIN_PART_SIZE), randomBytes(777)]
      const { uploadId } = await store.createMultipart(key, { contentType: 'application/octet-stream' })
      const firstTry = [await putPart(key, uploadId, 1, parts[0]!), await putPart(key, uploadId, 3, parts[2]!)]

      // After a reload the browser only has the upload id: the store tells it what is missing.
      const held = await store.listParts(key, uploadId)
      expect(held.map((p) => [p.partNumber, p.etag])).toEqual(firstTry.map((p) => [p.partNumber, p.etag]))

      const second = await putPart(key, uploadId, 2, parts[1]!)
      const all = [firstTry[0]!, second, firstTry[1]!]
      await store.completeMultipart(key, uploadId, all)
      const res = await download(key)
      expect(sha256(Buffer.from(await res.arrayBuffer()))).toBe(sha256(Buffer.concat(parts)))
    })

    it('completing with a wrong ETag is refused and stores nothing', async () => {
      const key = newKey()
      const { uploadId } = await store.createMultipart(key, { contentType: 'text/plain' })
      await putPart(key, uploadId, 1, Buffer.from('hello'))
      const wrong = `"${'0'.repeat(32)}"`
      await expect(store.completeMultipart(key, uploadId, [{ partNumber: 1, etag: wrong }])).rejects.toMatchObject({ code: 'upload_incomplete' })
      expect(await store.head(key)).toBeNull()
    })

    it('aborting an upload removes its parts and the upload', async () => {
      const key = newKey()
      const { uploadId } = await store.createMultipart(key, { contentType: 'text/plain' })
      const part = await putPart(key, uploadId, 1, randomBytes(1000))
      await store.abortMultipart(key, uploadId)

      await expect(store.listParts(key, uploadId)).rejects.toMatchObject({ code: 'not_found' })
      await expect(store.completeMultipart(key, uploadId, [part])).rejects.toBeInstanceOf(AppError)
      expect(await store.head(key)).toBeNull()
      await expect(store.abortMultipart(key, uploadId)).resolves.toBeUndefined()
    })

    it('put() streams a body of unknown length and stores it whole', async () => {
      const key = newKey()
      const chunks = Array.from({ length: 40 }, () => randomBytes(256 * 1024)) // 10 MiB: several S3 parts
      const { size } = await store.put(key, Readable.from(chunks), { contentType: 'video/mp4', maxBytes: 20 * 2 ** 20 })
      expect(size).toBe(10 * 2 ** 20)
      expect(await store.head(key)).toEqual({ size })
      const res = await download(key)
      expect(sha256(Buffer.from(await res.arrayBuffer()))).toBe(sha256(Buffer.concat(chunks)))
    })

    it('put() of a body over maxBytes throws BlobTooLargeError and leaves nothing', async () => {
      for (const [total, maxBytes] of [
        [2 * 2 ** 20, 2 ** 20], // over the limit inside the first chunk of work
        [12 * 2 ** 20, 9 * 2 ** 20], // over the limit after S3 started a multipart upload
      ] as const) {
        const key = newKey()
        const body = Readable.from(Array.from({ length: total / 2 ** 18 }, () => randomBytes(2 ** 18)))
        await expect(store.put(key, body, { contentType: 'application/octet-stream', maxBytes })).rejects.toBeInstanceOf(BlobTooLargeError)
        expect(await store.head(key)).toBeNull()
      }
    })

    it('put() of 0 bytes stores an empty file that downloads empty', async () => {
      const key = newKey()
      expect(await store.put(key, Readable.from([]), { contentType: 'text/plain', maxBytes: 0 })).toEqual({ size: 0 })
      expect(await store.head(key)).toEqual({ size: 0 })
      const res = await download(key)
      expect(res.status).toBe(200)
      expect((await res.arrayBuffer()).byteLength).toBe(0)
    })

    it('a deleted file is gone: head is null and its download URL answers 404', async () => {
      const key = newKey()
      await store.put(key, Readable.from([Buffer.from('secret licence key')]), { contentType: 'text/plain' })
      const signed = await store.signGet(key, { filename: 'key.txt', contentType: 'text/plain', ttlSeconds: 60 })
      await store.delete(key)
      expect(await store.head(key)).toBeNull()
      const res = await fetch(url(signed))
      expect(res.status).toBe(404)
      expect(await res.text()).not.toContain('secret licence key')
      await expect(store.delete(key)).resolves.toBeUndefined()
    })

    it('downloads are attachments with a safe filename, whatever the uploader named the file', async () => {
      const key = newKey()
      await store.put(key, Readable.from([Buffer.from('<script>alert(1)</script>')]), { contentType: 'text/html' })
      const hostile = [
        '../../etc/passwd',
        'quote"s and \\back\\slash.txt',
        'line\r\nSet-Cookie: x=1.txt',
        'invoice\u202Efdp.exe',
        '<img src=x onerror=alert(1)>.html',
        'x'.repeat(10_000),
        'ünïcödé 文件 📦.zip',
      ]
      for (const filename of hostile) {
        const res = await download(key, { filename, contentType: filename.endsWith('.html') ? 'text/html' : 'image/svg+xml' })
        expect(res.status, filename.slice(0, 40)).toBe(200)
        const disposition = res.headers.get('content-disposition') ?? ''
        expect(disposition).toMatch(/^attachment; filename="[^"\r\n]*"; filename\*=UTF-8''/)
        expect(disposition).not.toMatch(/[\r\n\u202e]/)
        const encoded = /filename\*=UTF-8''(.*)$/.exec(disposition)![1]!
        expect(decodeURIComponent(encoded)).toBe(cleanFilename(filename))
        // HTML and SVG never come back with a type a browser would render.
        expect(res.headers.get('content-type') ?? '').not.toMatch(/html|svg/)
        await res.arrayBuffer()
      }
    })

    it('a download URL is refused after it expires', async () => {
      const key = newKey()
      await store.put(key, Readable.from([Buffer.from('short-lived')]), { contentType: 'text/plain' })
      const signed = await store.signGet(key, { filename: 'a.txt', contentType: 'text/plain', ttlSeconds: 1 })
      await sleep(2100)
      const res = await fetch(url(signed))
      expect(res.status).toBe(403)
      expect(await res.text()).not.toContain('short-lived')
    })

    it('a part URL is refused after it expires', async () => {
      const key = newKey()
      const { uploadId } = await store.createMultipart(key, { contentType: 'text/plain' })
      const signed = await store.signPart(key, uploadId, 1, 1, { size: 4 })
      await sleep(2100)
      const res = await fetch(url(signed), { method: 'PUT', body: Buffer.from('late') })
      expect(res.status).toBe(403)
      expect(await store.listParts(key, uploadId)).toEqual([])
    })

    it('openRead streams the whole object, or exactly the bytes of one range', async () => {
      const key = newKey()
      const bytes = randomBytes(3 * 2 ** 20 + 11)
      await store.put(key, Readable.from([bytes]), { contentType: 'application/octet-stream' })
      const whole = await store.openRead(key)
      expect(whole?.size).toBe(bytes.length)
      expect(sha256(await readAll(whole!.body))).toBe(sha256(bytes))
      for (const [start, end] of [[0, 0], [5, 2 ** 20], [bytes.length - 1, bytes.length - 1], [2 ** 20, bytes.length - 1]] as const) {
        const part = await store.openRead(key, { start, end })
        expect(part?.size).toBe(bytes.length)
        expect(sha256(await readAll(part!.body)), `${start}-${end}`).toBe(sha256(bytes.subarray(start, end + 1)))
      }
    })

    it('openRead of a missing key is null, of an empty object an empty body, past the end refused', async () => {
      expect(await store.openRead(newKey())).toBeNull()
      const empty = newKey()
      await store.put(empty, Readable.from([]), { contentType: 'text/plain' })
      const opened = await store.openRead(empty)
      expect(opened?.size).toBe(0)
      expect((await readAll(opened!.body)).length).toBe(0)
      const key = newKey()
      await store.put(key, Readable.from([Buffer.from('0123456789')]), { contentType: 'text/plain' })
      await expect(store.openRead(key, { start: 10, end: 12 })).rejects.toMatchObject({ code: 'range_not_satisfiable' })
    })

    it('a reader that stops half-way leaves the object intact and deletable', async () => {
      const key = newKey()
      const bytes = randomBytes(4 * 2 ** 20)
      await store.put(key, Readable.from([bytes]), { contentType: 'application/octet-stream' })
      const opened = await store.openRead(key)
      for await (const chunk of opened!.body) {
        expect((chunk as Buffer).length).toBeGreaterThan(0)
        break // leaving the loop destroys the stream
      }
      expect(await store.head(key)).toEqual({ size: bytes.length })
      const again = await store.openRead(key)
      expect(sha256(await readAll(again!.body))).toBe(sha256(bytes))
      await store.delete(key)
      expect(await store.openRead(key)).toBeNull()
    })

    it('the inventory lists stored objects and unfinished uploads, and forgets them once gone', async () => {
      const inventory = store.inventory
      expect(inventory).toBeDefined()
      const objectKey = newKey()
      await store.put(objectKey, Readable.from([Buffer.from('listed')]), { contentType: 'text/plain' })
      const pendingKey = newKey()
      const { uploadId } = await store.createMultipart(pendingKey, { contentType: 'text/plain' })
      const doneKey = newKey()
      const done = await store.createMultipart(doneKey, { contentType: 'text/plain' })
      await store.completeMultipart(doneKey, done.uploadId, [await putPart(doneKey, done.uploadId, 1, Buffer.from('whole'))])

      const objects = await collect(inventory!.objects())
      const ours = objects.filter((o) => [objectKey, pendingKey, doneKey].includes(o.key))
      expect(ours.map((o) => [o.key, o.size]).sort()).toEqual([[doneKey, 5], [objectKey, 6]].sort())
      for (const o of ours) expect(Math.abs(o.modifiedAt.getTime() - Date.now())).toBeLessThan(10 * 60_000)
      const uploads = (await collect(inventory!.uploads())).filter((u) => [objectKey, pendingKey, doneKey].includes(u.key))
      expect(uploads.map((u) => [u.key, u.uploadId])).toEqual([[pendingKey, uploadId]])
      expect(Math.abs(uploads[0]!.startedAt.getTime() - Date.now())).toBeLessThan(10 * 60_000)

      await store.abortMultipart(pendingKey, uploadId)
      await store.delete(objectKey)
      expect((await collect(inventory!.uploads())).some((u) => u.uploadId === uploadId)).toBe(false)
      expect((await collect(inventory!.objects())).some((o) => o.key === objectKey)).toBe(false)
      // Scratch younger than the cut-off is never swept (a live write may own it).
      expect(await inventory!.sweepScratch(60_000)).toBe(0)
    })

    it('completing an upload twice, one after the other or both at once, gives the same object both times', async () => {
      for (const together of [false, true]) {
        const key = newKey()
        const bytes = [randomBytes(MIN_PART_SIZE), randomBytes(4321)]
        const { uploadId } = await store.createMultipart(key, { contentType: 'application/octet-stream' })
        const parts = [await putPart(key, uploadId, 1, bytes[0]!), await putPart(key, uploadId, 2, bytes[1]!)]
        const size = bytes[0]!.length + bytes[1]!.length
        const results = together
          ? await Promise.all([store.completeMultipart(key, uploadId, parts), store.completeMultipart(key, uploadId, parts)])
          : [await store.completeMultipart(key, uploadId, parts), await store.completeMultipart(key, uploadId, parts)]
        expect(results, together ? 'at once' : 'one after the other').toEqual([{ size }, { size }])
        const res = await download(key)
        expect(sha256(Buffer.from(await res.arrayBuffer()))).toBe(sha256(Buffer.concat(bytes)))
      }
    })

    it('two writers of one part at once: exactly one complete part remains, every time (30 runs)', async () => {
      const key = newKey()
      const { uploadId } = await store.createMultipart(key, { contentType: 'application/octet-stream' })
      const size = 256 * 1024
      for (let run = 0; run < 30; run++) {
        const a = randomBytes(size)
        const b = randomBytes(size)
        const signed = url(await store.signPart(key, uploadId, 1, 60, { size }))
        const answers = await Promise.all([a, b].map((body) => fetch(signed, { method: 'PUT', body })))
        expect(answers.map((r) => r.status), `run ${run}`).toEqual([200, 200])
        const listed = await store.listParts(key, uploadId)
        expect(listed, `run ${run}`).toHaveLength(1)
        const [part] = listed
        expect(part!.size, `run ${run}`).toBe(size)
        // The part that remains is one writer's bytes, whole, under its own ETag.
        const etags = [md5(a), md5(b)]
        expect(etags, `run ${run}`).toContain(normalize(part!.etag))
      }
      const [part] = await store.listParts(key, uploadId)
      expect(await store.completeMultipart(key, uploadId, [part!])).toEqual({ size })
    })

    it('an upload aborted while a part is on its way keeps nothing: the part is refused, the upload is gone', async () => {
      const key = newKey()
      const { uploadId } = await store.createMultipart(key, { contentType: 'application/octet-stream' })
      const size = MIN_PART_SIZE
      const signed = url(await store.signPart(key, uploadId, 1, 60, { size }))
      // Half the part is sent, the upload aborted, then the rest is sent.
      const answer = new Promise<number>((resolve, reject) => {
        const req = request(signed, { method: 'PUT', headers: { 'content-length': String(size) } }, (res) => {
          res.resume()
          resolve(res.statusCode ?? 0)
        })
        req.on('error', () => resolve(0))
        req.write(randomBytes(size / 2), (err) => {
          if (err) return reject(err)
          setTimeout(() => {
            store.abortMultipart(key, uploadId).then(() => req.end(randomBytes(size / 2)), reject)
          }, 200)
        })
      })
      // What the writer is told differs (the disk store: 404; s3rver: 500); what is kept does not.
      await answer
      await expect(store.listParts(key, uploadId)).rejects.toMatchObject({ code: 'not_found' })
      await expect(store.completeMultipart(key, uploadId, [{ partNumber: 1, etag: '"x"' }])).rejects.toMatchObject({ code: 'not_found' })
      expect(await store.head(key)).toBeNull()
    })

    it('ping succeeds while the store is reachable', async () => {
      await expect(store.ping()).resolves.toBeUndefined()
    })
  })
}

/** Keys shaped like the ones the shares service makes. */
export const newKey = () => `${randomBytes(1).toString('hex')}/${randomBytes(16).toString('base64url')}`
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex')
const md5 = (bytes: Buffer) => createHash('md5').update(bytes).digest('hex')
const normalize = (etag: string) => etag.replace(/"/g, '').toLowerCase()
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function readAll(body: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of body) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of items) out.push(item)
  return out
}
