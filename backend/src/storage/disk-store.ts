import { randomBytes } from 'node:crypto'
import { appendFile, mkdir, open, opendir, readFile, readdir, rename, rm, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises'
import { once } from 'node:events'
import { dirname, join, resolve, sep } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { BLOB_KEY_PATTERN, MAX_PART_COUNT, MIN_PART_SIZE, cleanFilename } from '@sharesync/protocol'
import { AppError } from '../http/app-error'
import { BlobTooLargeError, safeContentType, type BlobInventory, type BlobStore, type ByteRange, type OpenedBlob, type Part, type PendingUpload, type StoredObject } from './blob-store'
import { getFields, partFields, UrlSigner } from './url-signer'
import { FileWriter } from './file-writer'
import { ByteMeter } from './byte-meter'
import { releasing } from './released-buffers'

/** S3's own cap on one part; the disk store applies the same so both stores behave alike. */
export const MAX_PART_BYTES = 5 * 2 ** 30
const UPLOAD_ID = /^[A-Za-z0-9_-]{22,64}$/
/**
 * A stored part is one file, `<partNumber>.part`: its bytes followed by their MD5 (32 hex chars,
 * the ETag). One name per part number, replaced by an atomic rename: of two concurrent writers of
 * one part exactly one complete part remains, and its ETag always describes its own bytes.
 */
const PART_FILE = /^(\d{1,5})\.part$/
const ETAG_LENGTH = 32
const META_FILE = 'upload.json'
/** Upload directories being removed: renamed first, so no writer can add a part to them. */
const TRASH_PREFIX = '.trash-'
/** A temp file untouched this long belongs to a write that died (a live write touches it constantly). */
const DEFAULT_TEMP_MAX_IDLE_MS = 3600 * 1000

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
  /** Temp files idle this long are removed (at open and then periodically). Default 1 h. */
  tempMaxIdleMs?: number
  /** How often the sweep runs while the store is open. Default: a quarter of tempMaxIdleMs, at most 10 min. */
  sweepEveryMs?: number
}

/**
 * Blobs as files under one directory. All state (objects, multipart uploads, their parts) lives on
 * disk, so a restart or a second instance sharing the directory sees the same uploads.
 * Keys are server-generated; each one is still checked against a strict pattern and must resolve
 * inside the store, so no caller mistake can reach a path outside it.
 */
/** Files are read in 256 KiB chunks (not 64 KiB): a quarter of the trips through the streams on their way out. */
export const READ_CHUNK = 256 * 1024

/**
 * A file's bytes (or one range of them) as a stream that owns the handle: closed at the end, on an
 * error or when the stream is destroyed. Its buffers are counted as released as they go out.
 */
export function fileBytes(handle: FileHandle, range?: ByteRange): Readable {
  return releasing(handle.createReadStream({ ...(range ? { start: range.start, end: range.end } : {}), highWaterMark: READ_CHUNK }))
}

export class DiskStore implements BlobStore {
  readonly kind = 'disk' as const
  readonly dir: string
  private readonly objectsDir: string
  private readonly multipartDir: string
  private readonly tmpDir: string
  private readonly signer: UrlSigner
  private readonly base: string
  private readonly tempMaxIdleMs: number
  private readonly sweepEveryMs: number
  /** Temp files this process is writing right now: never swept, however slow their writer. */
  private readonly liveTemps = new Set<string>()
  private sweeper: NodeJS.Timeout | null = null

  constructor(opts: DiskStoreOptions) {
    this.dir = resolve(opts.dir)
    this.objectsDir = join(this.dir, 'objects')
    this.multipartDir = join(this.dir, 'multipart')
    this.tmpDir = join(this.dir, 'tmp')
    this.signer = new UrlSigner(opts.secret)
    this.base = opts.publicUrl?.replace(/\/+$/, '') ?? ''
    this.tempMaxIdleMs = opts.tempMaxIdleMs ?? DEFAULT_TEMP_MAX_IDLE_MS
    this.sweepEveryMs = opts.sweepEveryMs ?? Math.min(this.tempMaxIdleMs / 4, 10 * 60_000)
  }

  /** Creates the directories, sweeps what dead writes left, then keeps sweeping while open. */
  static async open(opts: DiskStoreOptions): Promise<DiskStore> {
    const store = new DiskStore(opts)
    await Promise.all([store.objectsDir, store.multipartDir, store.tmpDir].map((d) => mkdir(d, { recursive: true })))
    await store.sweepTemp(store.tempMaxIdleMs)
    store.sweeper = setInterval(() => {
      store.sweepTemp(store.tempMaxIdleMs).catch(() => undefined)
    }, Math.max(20, store.sweepEveryMs))
    store.sweeper.unref()
    return store
  }

  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper)
    this.sweeper = null
  }

  /**
   * Removes temp files of writes that died (a killed process, a lost request): those idle for
   * `maxIdleMs`. A temp file another instance sharing the directory is writing is touched with every
   * chunk, so it is never that old; this process's own live temp files are never removed.
   * Upload directories left half-removed (a crash during an abort) go too.
   */
  async sweepTemp(maxIdleMs: number): Promise<number> {
    const cutoff = Date.now() - maxIdleMs
    let removed = 0
    for (const name of await readdir(this.tmpDir)) {
      const path = join(this.tmpDir, name)
      if (this.liveTemps.has(path)) continue
      const info = await stat(path).catch(() => null)
      if (info && info.mtimeMs < cutoff) {
        await rm(path, { force: true, recursive: true })
        removed++
      }
    }
    for (const name of await readdir(this.multipartDir)) {
      if (!name.startsWith(TRASH_PREFIX)) continue
      await rm(join(this.multipartDir, name), { force: true, recursive: true })
      removed++
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
    try {
      await mkdir(dir, { recursive: true })
      await writeFile(join(dir, META_FILE), JSON.stringify(meta), { flag: 'wx' })
    } catch (err) {
      await rm(dir, { recursive: true, force: true })
      throw storageError(err)
    }
    return { uploadId }
  }

  async signPart(key: string, uploadId: string, partNumber: number, ttlSeconds: number, opts: { size: number }): Promise<string> {
    this.objectPath(key)
    this.uploadDir(uploadId)
    checkPartNumber(partNumber)
    const max = Math.max(0, Math.floor(opts.size))
    const exp = expiry(ttlSeconds)
    const sig = this.signer.sign(partFields(key, uploadId, partNumber, exp, max))
    return `${this.base}/api/blobs/parts/${uploadId}/${partNumber}?${new URLSearchParams({ key, exp: String(exp), max: String(max), sig })}`
  }

  /** Throws signature_invalid unless this part URL was signed by us (with this `max`) and has not expired. */
  verifyPartUrl(key: string, uploadId: string, partNumber: number, exp: number, max: number, sig: string): void {
    verifySigned(this.signer.verify(partFields(key, uploadId, partNumber, exp, max), sig), exp)
  }

  /**
   * Stores one part (the body of a signed PUT), refusing with 413 as soon as more than `maxBytes`
   * (the signed limit) or the upload's part size arrived. Written to a temp file and renamed into
   * place, so a part cut off mid-way never shows up in listParts; re-sending a part replaces it.
   */
  async writePart(key: string, uploadId: string, partNumber: number, body: Readable, opts: { declaredBytes?: number; maxBytes?: number } = {}): Promise<Part> {
    checkPartNumber(partNumber)
    const meta = await this.meta(key, uploadId)
    const limit = Math.min(meta.maxPartBytes, opts.maxBytes ?? Number.POSITIVE_INFINITY)
    const tooLarge = () => new AppError('too_large', `This part may hold at most ${limit} bytes.`, { headers: { Connection: 'close' } })
    if (opts.declaredBytes !== undefined && opts.declaredBytes > limit) throw tooLarge()

    const dir = this.uploadDir(uploadId)
    const meter = new ByteMeter(limit, 'md5')
    const etag = await this.withTemp(async (tmp, create) => {
      try {
        await pipeline(body, meter, create())
      } catch (err) {
        if (err instanceof BlobTooLargeError) throw tooLarge()
        throw storageError(err)
      }
      const digest = meter.digest()
      await appendFile(tmp, digest).catch((err: unknown) => {
        throw storageError(err)
      })
      // The upload was aborted (or completed) meanwhile: its directory is gone, the part with it.
      await rename(tmp, join(dir, `${partNumber}.part`)).catch((err: unknown) => {
        throw isMissing(err) ? uploadNotFound() : err
      })
      return digest
    })
    return { partNumber, etag: `"${etag}"`, size: meter.bytes }
  }

  async listParts(key: string, uploadId: string): Promise<Part[]> {
    await this.meta(key, uploadId)
    const dir = this.uploadDir(uploadId)
    const names = (await readdir(dir).catch(missingAs(uploadNotFound))).filter((f) => PART_FILE.test(f))
    const parts: Part[] = []
    // Each part's ETag is its last 32 bytes: a few files open at a time.
    for (let i = 0; i < names.length; i += 32) {
      const batch = await Promise.all(
        names.slice(i, i + 32).map(async (name) => {
          const part = await openPart(join(dir, name)).catch(orMissing(() => null))
          if (!part) return null // replaced or removed while we listed
          await part.handle.close()
          return { partNumber: Number(PART_FILE.exec(name)![1]), etag: `"${part.etag}"`, size: part.size }
        }),
      )
      for (const p of batch) if (p) parts.push(p)
    }
    return parts.sort((a, b) => a.partNumber - b.partNumber)
  }

  /**
   * Concatenates the given parts, in order, into the object (streamed into a temp file, then renamed:
   * readers never see half an object). Same rules as S3: ascending part numbers, matching ETags,
   * every part but the last at least 5 MiB. Completing an upload that was already completed answers
   * the object's size (a retry after a lost answer, or two completions at once).
   */
  async completeMultipart(key: string, uploadId: string, parts: Omit<Part, 'size'>[]): Promise<{ size: number }> {
    const target = this.objectPath(key)
    if (parts.length === 0) throw new AppError('upload_incomplete', 'An upload needs at least one part.')
    const known = await this.meta(key, uploadId).then(
      () => true,
      (err: unknown) => {
        if (err instanceof AppError && err.code === 'not_found') return false
        throw err
      },
    )
    if (!known) return this.completedObject(key)
    const dir = this.uploadDir(uploadId)
    // Every part is opened (and checked) first: what is streamed below is exactly what was checked,
    // even if a part is replaced or the upload removed meanwhile.
    const opened: OpenPart[] = []
    try {
      for (const [i, given] of parts.entries()) {
        const previous = parts[i - 1]
        if (previous && previous.partNumber >= given.partNumber) {
          throw new AppError('upload_incomplete', 'Parts must be listed in ascending order, each once.')
        }
        checkPartNumber(given.partNumber)
        const part = await openPart(join(dir, `${given.partNumber}.part`)).catch(orMissing(() => null))
        if (!part) {
          if (!(await this.meta(key, uploadId).then(() => true, () => false))) return await this.completedObject(key)
          throw new AppError('upload_incomplete', `Part ${given.partNumber} is missing.`)
        }
        opened.push(part)
        if (part.etag !== normalizeEtag(given.etag)) throw new AppError('upload_incomplete', `Part ${given.partNumber}'s ETag does not match.`)
        if (i < parts.length - 1 && part.size < MIN_PART_SIZE) {
          throw new AppError('upload_incomplete', `Part ${given.partNumber} is smaller than ${MIN_PART_SIZE} bytes and is not the last part.`)
        }
      }
      const size = opened.reduce((sum, p) => sum + p.size, 0)
      await this.withTemp(async (tmp, create) => {
        // One pipeline for all parts (one per part, without ending the file, left listeners behind on
        // it: a warning from the 11th part on); read in READ_CHUNKs, written in FileWriter's batches.
        async function* partBytes() {
          for (const part of opened) {
            if (part.size > 0) yield* part.handle.createReadStream({ start: 0, end: part.size - 1, autoClose: false, highWaterMark: READ_CHUNK })
          }
        }
        try {
          await pipeline(partBytes, create())
        } catch (err) {
          throw storageError(err)
        }
        await mkdir(dirname(target), { recursive: true })
        await rename(tmp, target)
      })
      await this.removeUploadDir(uploadId)
      return { size }
    } finally {
      await Promise.all(opened.map((p) => p.handle.close().catch(() => undefined)))
    }
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    const meta = await this.meta(key, uploadId).catch((err: unknown) => {
      if (err instanceof AppError && err.code === 'not_found') return null
      throw err
    })
    // Already gone (idempotent), or another key's upload (never destroyed through a wrong key).
    if (!meta) return
    await this.removeUploadDir(uploadId)
  }

  async put(key: string, body: Readable, opts: { contentType: string; maxBytes?: number }): Promise<{ size: number }> {
    const target = this.objectPath(key)
    const meter = new ByteMeter(opts.maxBytes ?? Number.POSITIVE_INFINITY)
    await this.withTemp(async (tmp, create) => {
      try {
        await pipeline(body, meter, create())
        await mkdir(dirname(target), { recursive: true })
        await rename(tmp, target)
      } catch (err) {
        throw storageError(err)
      }
    })
    return { size: meter.bytes }
  }

  /**
   * A fresh temp file for `work` (`create()` opens it for writing), protected from the sweep while it
   * runs and removed if it is left over.
   */
  private async withTemp<T>(work: (tmp: string, create: () => FileWriter) => Promise<T>): Promise<T> {
    const tmp = join(this.tmpDir, randomBytes(12).toString('hex'))
    const writers: FileWriter[] = []
    const create = () => {
      const out = new FileWriter(tmp, 'wx')
      writers.push(out)
      return out
    }
    this.liveTemps.add(tmp)
    try {
      return await work(tmp, create)
    } finally {
      // A writer destroyed while it was still opening creates the file after the failure was
      // reported: it is closed first, so the removal below really removes it.
      await Promise.all(
        writers
          .filter((out) => !out.closed)
          .map((out) => {
            const closed = once(out, 'close').catch(() => undefined)
            out.destroy()
            return closed
          }),
      )
      // After a successful rename there is nothing here to remove.
      await rm(tmp, { force: true }).catch(() => undefined)
      this.liveTemps.delete(tmp)
    }
  }

  /** Renamed away first (atomic: no writer can add a part afterwards), then removed. */
  private async removeUploadDir(uploadId: string): Promise<void> {
    const trash = join(this.multipartDir, `${TRASH_PREFIX}${randomBytes(8).toString('hex')}`)
    try {
      await rename(this.uploadDir(uploadId), trash)
    } catch (err) {
      if (isMissing(err)) return
      throw err
    }
    await rm(trash, { recursive: true, force: true })
  }

  /** The upload is gone: completed earlier if its object exists (the size is the object's), else unknown. */
  private async completedObject(key: string): Promise<{ size: number }> {
    const head = await this.head(key)
    if (!head) throw uploadNotFound()
    return head
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
    return { body: fileBytes(handle, range), size }
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

interface OpenPart {
  handle: FileHandle
  /** bytes of the part (without its ETag trailer) */
  size: number
  etag: string
}

/** Opens a part file and reads its ETag trailer; the handle stays open for the caller. */
async function openPart(path: string): Promise<OpenPart> {
  const handle = await open(path, 'r')
  try {
    const { size: fileSize } = await handle.stat()
    if (fileSize < ETAG_LENGTH) throw Object.assign(new Error('part file without its ETag'), { code: 'ENOENT' })
    const trailer = Buffer.alloc(ETAG_LENGTH)
    await handle.read(trailer, 0, ETAG_LENGTH, fileSize - ETAG_LENGTH)
    return { handle, size: fileSize - ETAG_LENGTH, etag: trailer.toString('latin1') }
  } catch (err) {
    await handle.close()
    throw err
  }
}

/** A full disk (or a used-up disk quota) is the operator's problem, said clearly: 507, nothing kept. */
function storageError(err: unknown): unknown {
  const code = (err as { code?: unknown } | null)?.code
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new AppError('insufficient_storage', 'The server has run out of storage space, so this upload was not kept. Please try again later or tell the operator.', {
      headers: { Connection: 'close' },
    })
  }
  return err
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
