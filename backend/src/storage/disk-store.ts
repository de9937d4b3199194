import { randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, open, opendir, readFile, readdir, rename, rm, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises'
import { dirname, join, resolve, sep } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { BLOB_KEY_PATTERN, MAX_PART_COUNT, MIN_PART_SIZE } from '@sharesync/protocol'
import { AppError } from '../http/app-error'
import { BlobTooLargeError, cleanFilename, safeContentType, type BlobInventory, type BlobStore, type ByteRange, type OpenedBlob, type Part, type PendingUpload, type StoredObject } from './blob-store'
import { getFields, partFields, UrlSigner } from './url-signer'
import { ByteMeter } from './byte-meter'

/** S3's own cap on one part; the disk store applies the same so both stores behave alike. */
export const MAX_PART_BYTES = 5 * 2 ** 30
const UPLOAD_ID = /^[A-Za-z0-9_-]{22,64}$/
/** Part files are named `<partNumber>.<md5 hex>`: listParts needs no hashing, only a readdir. */
const PART_FILE = /^(\d{1,5})\.([0-9a-f]{32})$/
const META_FILE = 'upload.json'
/** A temp file untouched this long belongs to a write that died (a live write touches it constantly). */
const TEMP_MAX_AGE_MS = 24 * 3600 * 1000

interface UploadMeta {
  key: string
  contentType: string
  maxPartBytes: number
  createdAt: string
}

export interface DiskStoreOptions {
  /** Root of the store: `objects/`, `multipart/` and `tmp/` live under it. */
  dir: string
  /** Secret the URL-signing key is derived from (config.sessionSecret). */
  secret: string
  /** When set, signed URLs are absolute; otherwise root-relative (`/api/blobs/...`). */
  publicUrl?: string
}

/**
 * Blobs as files under one directory. All state (objects, multipart uploads, their parts) lives on
 * disk, so a restart or a second instance sharing the directory sees the same uploads.
 * Keys are server-generated; each one is still checked against a strict pattern and must resolve
 * inside the store, so no caller mistake can reach a path outside it.
 */
export class DiskStore implements BlobStore {
  readonly kind = 'disk' as const
  readonly dir: string
  private readonly objectsDir: string
  private readonly multipartDir: string
  private readonly tmpDir: string
  private readonly signer: UrlSigner
  private readonly base: string

  constructor(opts: DiskStoreOptions) {
    this.dir = resolve(opts.dir)
    this.objectsDir = join(this.dir, 'objects')
    this.multipartDir = join(this.dir, 'multipart')
    this.tmpDir = join(this.dir, 'tmp')
    this.signer = new UrlSigner(opts.secret)
    this.base = opts.publicUrl?.replace(/\/+$/, '') ?? ''
  }

  /** Creates the directories, then the store. */
  static async open(opts: DiskStoreOptions): Promise<DiskStore> {
    const store = new DiskStore(opts)
    await Promise.all([store.objectsDir, store.multipartDir, store.tmpDir].map((d) => mkdir(d, { recursive: true })))
    await store.sweepTemp(TEMP_MAX_AGE_MS)
    return store
  }

  /**
   * Removes temp files a crashed process left behind. Only old ones: another instance sharing the
   * directory may be writing a fresh one right now.
   */
  async sweepTemp(maxAgeMs: number): Promise<number> {
    const cutoff = Date.now() - maxAgeMs
    let removed = 0
    for (const name of await readdir(this.tmpDir)) {
      const info = await stat(join(this.tmpDir, name)).catch(() => null)
      if (info && info.mtimeMs < cutoff) {
        await rm(join(this.tmpDir, name), { force: true, recursive: true })
        removed++
      }
    }
    return removed
  }

  async createMultipart(key: string, opts: { contentType: string; maxPartBytes?: number }): Promise<{ uploadId: string }> {
    this.objectPath(key)
    const uploadId = randomBytes(16).toString('base64url')
    const meta: UploadMeta = {
      key,
      contentType: opts.contentType,
      maxPartBytes: Math.min(opts.maxPartBytes ?? MAX_PART_BYTES, MAX_PART_BYTES),
      createdAt: new Date().toISOString(),
    }
    const dir = this.uploadDir(uploadId)
    await mkdir(dir, { recursive: true })
    await writeFile(join(dir, META_FILE), JSON.stringify(meta), { flag: 'wx' })
    return { uploadId }
  }

  async signPart(key: string, uploadId: string, partNumber: number, ttlSeconds: number): Promise<string> {
    this.objectPath(key)
    this.uploadDir(uploadId)
    checkPartNumber(partNumber)
    const exp = expiry(ttlSeconds)
    const sig = this.signer.sign(partFields(key, uploadId, partNumber, exp))
    return `${this.base}/api/blobs/parts/${uploadId}/${partNumber}?${new URLSearchParams({ key, exp: String(exp), sig })}`
  }

  /** Throws signature_invalid unless this part URL was signed by us and has not expired. */
  verifyPartUrl(key: string, uploadId: string, partNumber: number, exp: number, sig: string): void {
    verifySigned(this.signer.verify(partFields(key, uploadId, partNumber, exp), sig), exp)
  }

  /**
   * Stores one part (the body of a signed PUT). Written to a temp file and renamed, so a part that
   * was cut off mid-way never shows up in listParts. Re-sending a part number replaces it.
   */
  async writePart(key: string, uploadId: string, partNumber: number, body: Readable, declaredBytes?: number): Promise<Part> {
    checkPartNumber(partNumber)
    const meta = await this.meta(key, uploadId)
    const limit = meta.maxPartBytes
    const tooLarge = () => new AppError('too_large', `A part may hold at most ${limit} bytes.`, { headers: { Connection: 'close' } })
    if (declaredBytes !== undefined && declaredBytes > limit) throw tooLarge()

    const dir = this.uploadDir(uploadId)
    const tmp = join(dir, `.tmp-${randomBytes(8).toString('hex')}`)
    const meter = new ByteMeter(limit, 'md5')
    try {
      await pipeline(body, meter, createWriteStream(tmp, { flags: 'wx' }))
    } catch (err) {
      await rm(tmp, { force: true })
      if (err instanceof BlobTooLargeError) throw tooLarge()
      if (isMissing(err)) throw uploadNotFound()
      throw err
    }
    const etag = meter.digest()
    const name = `${partNumber}.${etag}`
    try {
      await rename(tmp, join(dir, name))
    } catch (err) {
      await rm(tmp, { force: true })
      throw isMissing(err) ? uploadNotFound() : err
    }
    // An earlier upload of the same part number with other bytes is now stale.
    const stale = (await readdir(dir)).filter((f) => f !== name && PART_FILE.exec(f)?.[1] === String(partNumber))
    await Promise.all(stale.map((f) => rm(join(dir, f), { force: true })))
    return { partNumber, etag: `"${etag}"`, size: meter.bytes }
  }

  async listParts(key: string, uploadId: string): Promise<Part[]> {
    await this.meta(key, uploadId)
    const dir = this.uploadDir(uploadId)
    const byNumber = new Map<number, Part & { mtime: number }>()
    for (const file of await readdir(dir).catch(missingAs(uploadNotFound))) {
      const m = PART_FILE.exec(file)
      if (!m) continue
      const info = await stat(join(dir, file)).catch(() => null)
      if (!info) continue // replaced while we listed
      const part = { partNumber: Number(m[1]), etag: `"${m[2]}"`, size: info.size, mtime: info.mtimeMs }
      const seen = byNumber.get(part.partNumber)
      if (!seen || seen.mtime < part.mtime) byNumber.set(part.partNumber, part)
    }
    return [...byNumber.values()].sort((a, b) => a.partNumber - b.partNumber).map(({ partNumber, etag, size }) => ({ partNumber, etag, size }))
  }

  /**
   * Concatenates the given parts, in order, into the object (streamed into a temp file, then renamed:
   * readers never see half an object). Same rules as S3: ascending part numbers, matching ETags,
   * every part but the last at least 5 MiB.
   */
  async completeMultipart(key: string, uploadId: string, parts: Omit<Part, 'size'>[]): Promise<{ size: number }> {
    const target = this.objectPath(key)
    const stored = new Map((await this.listParts(key, uploadId)).map((p) => [p.partNumber, p]))
    if (parts.length === 0) throw new AppError('upload_incomplete', 'An upload needs at least one part.')
    const dir = this.uploadDir(uploadId)
    const files: string[] = []
    parts.forEach((given, i) => {
      const previous = parts[i - 1]
      if (previous && previous.partNumber >= given.partNumber) {
        throw new AppError('upload_incomplete', 'Parts must be listed in ascending order, each once.')
      }
      const part = stored.get(given.partNumber)
      if (!part || normalizeEtag(part.etag) !== normalizeEtag(given.etag)) {
        throw new AppError('upload_incomplete', `Part ${given.partNumber} is missing or its ETag does not match.`)
      }
      if (i < parts.length - 1 && part.size < MIN_PART_SIZE) {
        throw new AppError('upload_incomplete', `Part ${given.partNumber} is smaller than ${MIN_PART_SIZE} bytes and is not the last part.`)
      }
      files.push(join(dir, `${part.partNumber}.${normalizeEtag(part.etag)}`))
    })

    const size = parts.reduce((sum, p) => sum + (stored.get(p.partNumber)?.size ?? 0), 0)
    const tmp = join(this.tmpDir, randomBytes(12).toString('hex'))
    const out = createWriteStream(tmp, { flags: 'wx' })
    try {
      for (const file of files) await pipeline(createReadStream(file), out, { end: false })
      await new Promise<void>((done, fail) => {
        out.once('error', fail)
        out.end(done)
      })
      await mkdir(dirname(target), { recursive: true })
      await rename(tmp, target)
    } catch (err) {
      out.destroy()
      await rm(tmp, { force: true })
      throw isMissing(err) ? new AppError('upload_incomplete', 'A part disappeared while the upload was completed.') : err
    }
    await rm(dir, { recursive: true, force: true })
    return { size }
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    const meta = await this.meta(key, uploadId).catch((err: unknown) => {
      if (err instanceof AppError && err.code === 'not_found') return null
      throw err
    })
    // Already gone (idempotent), or another key's upload (never destroyed through a wrong key).
    if (!meta) return
    await rm(this.uploadDir(uploadId), { recursive: true, force: true })
  }

  async put(key: string, body: Readable, opts: { contentType: string; maxBytes?: number }): Promise<{ size: number }> {
    const target = this.objectPath(key)
    const tmp = join(this.tmpDir, randomBytes(12).toString('hex'))
    const meter = new ByteMeter(opts.maxBytes ?? Number.POSITIVE_INFINITY)
    try {
      await pipeline(body, meter, createWriteStream(tmp, { flags: 'wx' }))
      await mkdir(dirname(target), { recursive: true })
      await rename(tmp, target)
    } catch (err) {
      await rm(tmp, { force: true })
      throw err
    }
    return { size: meter.bytes }
  }

  async signGet(key: string, opts: { filename: string; contentType: string; ttlSeconds: number }): Promise<string> {
    this.objectPath(key)
    const exp = expiry(opts.ttlSeconds)
    const fn = cleanFilename(opts.filename)
    const ct = safeContentType(opts.contentType)
    const sig = this.signer.sign(getFields(key, exp, fn, ct))
    return `${this.base}/api/blobs/o/${key}?${new URLSearchParams({ exp: String(exp), fn, ct, sig })}`
  }

  /** Throws signature_invalid unless this download URL was signed by us and has not expired. */
  verifyGetUrl(key: string, exp: number, filename: string, contentType: string, sig: string): void {
    verifySigned(this.signer.verify(getFields(key, exp, filename, contentType), sig), exp)
  }

  /** An open handle on the object (so a concurrent delete cannot swap it mid-response), or null. */
  async openObject(key: string): Promise<{ handle: FileHandle; size: number } | null> {
    const handle = await open(this.objectPath(key), 'r').catch(orMissing(() => null))
    if (!handle) return null
    const info = await handle.stat()
    if (!info.isFile()) {
      await handle.close()
      return null
    }
    return { handle, size: info.size }
  }

  async head(key: string): Promise<{ size: number } | null> {
    const info = await stat(this.objectPath(key)).catch(orMissing(() => null))
    return info?.isFile() ? { size: info.size } : null
  }

  async openRead(key: string, range?: ByteRange): Promise<OpenedBlob | null> {
    const object = await this.openObject(key)
    if (!object) return null
    const { handle, size } = object
    if (range && !rangeInside(range, size)) {
      await handle.close()
      throw new AppError('range_not_satisfiable', 'The requested range is outside the file.')
    }
    // The stream owns the handle (closed at its end, on error or when destroyed); a delete meanwhile
    // unlinks the name, never the bytes being read.
    if (size === 0) {
      await handle.close()
      return { body: Readable.from([]), size }
    }
    return { body: handle.createReadStream(range ? { start: range.start, end: range.end } : {}), size }
  }

  async delete(key: string): Promise<void> {
    await unlink(this.objectPath(key)).catch(orMissing(() => undefined))
  }

  readonly inventory: BlobInventory = {
    objects: () => this.listObjects(),
    uploads: () => this.listUploads(),
    sweepScratch: (olderThanMs) => this.sweepScratch(olderThanMs),
  }

  /** Every object file under objects/ whose path is a well-formed key (walked, never listed whole). */
  private async *listObjects(): AsyncIterable<StoredObject> {
    const pending = ['']
    while (pending.length > 0) {
      const rel = pending.pop()!
      const dir = await opendir(join(this.objectsDir, rel)).catch(orMissing(() => null))
      if (!dir) continue
      for await (const entry of dir) {
        const key = rel ? `${rel}/${entry.name}` : entry.name
        if (entry.isDirectory()) pending.push(key)
        else if (entry.isFile() && BLOB_KEY_PATTERN.test(key)) {
          const info = await stat(join(this.objectsDir, key)).catch(orMissing(() => null))
          if (info) yield { key, size: info.size, modifiedAt: info.mtime }
        }
      }
    }
  }

  /** Multipart uploads: one directory each, named by its upload id, holding its key in upload.json. */
  private async *listUploads(): AsyncIterable<PendingUpload> {
    for await (const entry of await opendir(this.multipartDir)) {
      if (!entry.isDirectory() || !UPLOAD_ID.test(entry.name)) continue
      const meta = await readFile(join(this.multipartDir, entry.name, META_FILE), 'utf8')
        .then((text) => JSON.parse(text) as UploadMeta)
        .catch(() => null)
      // Without its metadata an upload cannot be resumed or aborted by key: sweepScratch removes it.
      if (meta && typeof meta.key === 'string' && BLOB_KEY_PATTERN.test(meta.key)) {
        yield { key: meta.key, uploadId: entry.name, startedAt: new Date(meta.createdAt) }
      }
    }
  }

  /**
   * Scratch of writes that died while the server runs: temp files under tmp/, half-written parts
   * (`.tmp-…`) inside upload directories, and upload directories whose metadata never got written.
   * Only files untouched for `olderThanMs`: a live write touches its file constantly.
   */
  async sweepScratch(olderThanMs: number): Promise<number> {
    let removed = await this.sweepTemp(olderThanMs)
    const cutoff = Date.now() - olderThanMs
    const old = async (path: string) => {
      const info = await stat(path).catch(() => null)
      return info !== null && info.mtimeMs < cutoff
    }
    for (const upload of await readdir(this.multipartDir)) {
      const dir = join(this.multipartDir, upload)
      const names = await readdir(dir).catch(() => null)
      if (!names) continue
      if (!names.includes(META_FILE)) {
        if (await old(dir)) {
          await rm(dir, { recursive: true, force: true })
          removed++
        }
        continue
      }
      for (const name of names.filter((n) => n.startsWith('.tmp-'))) {
        if (await old(join(dir, name))) {
          await rm(join(dir, name), { force: true })
          removed++
        }
      }
    }
    return removed
  }

  async ping(): Promise<void> {
    const info = await stat(this.objectsDir)
    if (!info.isDirectory()) throw new Error(`${this.objectsDir} is not a directory`)
  }

  /** The object's file; throws invalid_input for anything that is not a well-formed key. */
  private objectPath(key: string): string {
    const path = resolve(this.objectsDir, key)
    if (!BLOB_KEY_PATTERN.test(key) || !path.startsWith(this.objectsDir + sep)) {
      throw new AppError('invalid_input', 'Not a storage key.')
    }
    return path
  }

  private uploadDir(uploadId: string): string {
    if (!UPLOAD_ID.test(uploadId)) throw uploadNotFound()
    return join(this.multipartDir, uploadId)
  }

  private async meta(key: string, uploadId: string): Promise<UploadMeta> {
    this.objectPath(key)
    const text = await readFile(join(this.uploadDir(uploadId), META_FILE), 'utf8').catch(missingAs(uploadNotFound))
    const meta = JSON.parse(text) as UploadMeta
    if (meta.key !== key) throw uploadNotFound()
    return meta
  }
}

function checkPartNumber(partNumber: number): void {
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PART_COUNT) {
    throw new AppError('invalid_input', `Part numbers run from 1 to ${MAX_PART_COUNT}.`)
  }
}

function rangeInside(range: ByteRange, size: number): boolean {
  return Number.isSafeInteger(range.start) && Number.isSafeInteger(range.end) && range.start >= 0 && range.start <= range.end && range.end < size
}

function expiry(ttlSeconds: number): number {
  return Math.floor(Date.now() / 1000) + Math.max(1, Math.ceil(ttlSeconds))
}

function verifySigned(valid: boolean, exp: number): void {
  if (!valid) throw new AppError('signature_invalid', 'This link is not valid.')
  if (exp * 1000 <= Date.now()) throw new AppError('signature_invalid', 'This link has expired.')
}

const normalizeEtag = (etag: string) => etag.replace(/"/g, '').trim().toLowerCase()
const uploadNotFound = () => new AppError('not_found', 'No such upload.')

function isMissing(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return code === 'ENOENT' || code === 'ENOTDIR'
}

/** A .catch() handler: a missing file becomes `fallback()`, anything else is rethrown. */
function orMissing<T>(fallback: () => T): (err: unknown) => T {
  return (err) => {
    if (!isMissing(err)) throw err
    return fallback()
  }
}

/** A .catch() handler: a missing file becomes the given error, anything else is rethrown. */
function missingAs(error: () => Error): (err: unknown) => never {
  return (err) => {
    throw isMissing(err) ? error() : err
  }
}
