import { ApiError } from '../../lib/api'
import { cloudApi } from './cloud-api'
import type { PartEncoder } from './encryption/seal-upload'

/**
 * Uploads the files of a created share straight to storage: each file in parts, PUT to short-lived
 * signed URLs, a few parts in parallel. It first asks the server which parts are already stored, so
 * the same code resumes an upload after a dropped connection or a page reload.
 */

export interface EngineFile {
  file: File
  fileId: string
  partSize: number
  partCount: number
  /** Transforms each part before its PUT (end-to-end encryption); absent: the file's bytes as they are. */
  encoder?: PartEncoder
}

/** Bytes stored for a file: what the server announced, the encoded size for an encoded file. */
const storedSize = (f: EngineFile) => f.encoder?.size ?? f.file.size

export type UploadPhase = 'checking' | 'uploading' | 'retrying' | 'finishing' | 'done' | 'failed' | 'cancelled'

export interface FileProgress {
  name: string
  size: number
  uploaded: number
}

export interface UploadSnapshot {
  phase: UploadPhase
  totalBytes: number
  uploadedBytes: number
  /** Bytes already on the server when this run started (a resumed upload). */
  resumedBytes: number
  bytesPerSecond: number
  secondsLeft: number | null
  files: FileProgress[]
  message?: string
}

export interface EngineOptions {
  shareId: string
  ownerToken: string
  files: EngineFile[]
  concurrency?: number
  onProgress: (s: UploadSnapshot) => void
}

interface PartTask {
  file: number
  partNumber: number
  start: number
  end: number
}

interface SignedUrl {
  url: string
  /** ms epoch after which we re-sign rather than risk a 403 mid-upload */
  staleAt: number
}

class Cancelled extends Error {
  constructor() {
    super('cancelled')
    this.name = 'Cancelled'
  }
}

class PartHttpError extends Error {
  constructor(readonly status: number) {
    super(`part upload answered ${status}`)
    this.name = 'PartHttpError'
  }
}

const SIGN_BATCH = 6
/** With the backoff below: about 40 s of outage before the upload reports itself interrupted. */
const MAX_ATTEMPTS = 8
const SPEED_WINDOW_MS = 5000

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(new Cancelled())
    const t = setTimeout(resolve, ms)
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t)
        reject(new Cancelled())
      },
      { once: true },
    )
  })

/** Transient: worth retrying with a backoff (network gone, server restarting, rate limited). */
function isTransient(err: unknown): boolean {
  if (err instanceof ApiError) return err.isNetwork || err.status === 429 || err.status >= 500
  if (err instanceof PartHttpError) return err.status === 0 || err.status === 429 || err.status >= 500
  return false
}

export class UploadEngine {
  private readonly abort = new AbortController()
  private readonly xhrs = new Set<XMLHttpRequest>()
  private readonly etags: Map<number, string>[]
  private readonly done: Set<number>[]
  /** Files the server reports complete: no parts, no completion call. */
  private readonly completed = new Set<number>()
  private readonly inflight = new Map<string, number>()
  private readonly urls: Map<number, SignedUrl>[]
  private readonly signing: Map<number, Promise<void>>[]
  private readonly samples: { t: number; bytes: number }[] = []
  private readonly listings = new Map<number, { at: number; parts: Promise<{ partNumber: number; etag: string; size: number }[]> }>()
  private phase: UploadPhase = 'checking'
  private message: string | undefined
  private completedBytes = 0
  private resumedBytes = 0
  private lastEmit = 0
  private emitTimer: ReturnType<typeof setTimeout> | null = null
  private readonly concurrency: number

  constructor(private readonly opts: EngineOptions) {
    this.concurrency = opts.concurrency ?? 4
    this.etags = opts.files.map(() => new Map())
    this.done = opts.files.map(() => new Set())
    this.urls = opts.files.map(() => new Map())
    this.signing = opts.files.map(() => new Map())
  }

  get totalBytes(): number {
    return this.opts.files.reduce((n, f) => n + storedSize(f), 0)
  }

  /** Runs to the end: every file completed and the share finalized. Rejects on failure or cancel. */
  async run(): Promise<void> {
    try {
      this.setPhase('checking')
      if ((await this.loadStoredParts()) === 'finalized') {
        this.setPhase('done')
        return
      }
      const tasks = this.pendingTasks()
      this.setPhase('uploading')
      this.sample()
      let next = 0
      const worker = async () => {
        while (next < tasks.length) {
          const task = tasks[next++]!
          await this.uploadPart(task)
        }
      }
      await Promise.all(Array.from({ length: Math.min(this.concurrency, Math.max(1, tasks.length)) }, worker))
      this.setPhase('finishing')
      for (const [i, f] of this.opts.files.entries()) if (!this.completed.has(i)) await this.completeFile(i, f)
      await this.withRetry(() => cloudApi.finalize(this.opts.shareId, this.opts.ownerToken))
      this.setPhase('done')
    } catch (err) {
      this.stopAll()
      // Finalized already: an earlier run got that far and only its answer was lost.
      if (err instanceof ApiError && err.code === 'share_finalized' && !this.abort.signal.aborted) {
        this.setPhase('done')
        return
      }
      if (err instanceof Cancelled || this.abort.signal.aborted) {
        this.setPhase('cancelled')
        throw new Cancelled()
      }
      this.message = err instanceof Error ? err.message : 'Upload failed.'
      this.setPhase('failed')
      throw err
    } finally {
      if (this.emitTimer) clearTimeout(this.emitTimer)
    }
  }

  cancel(): void {
    this.abort.abort()
    this.stopAll()
  }

  private stopAll() {
    for (const x of this.xhrs) x.abort()
    this.xhrs.clear()
    this.inflight.clear()
  }

  // ---------------------------------------------------------------- parts

  private partRange(f: EngineFile, partNumber: number): { start: number; end: number } {
    const start = (partNumber - 1) * f.partSize
    return { start, end: Math.min(storedSize(f), start + f.partSize) }
  }

  /**
   * The server's upload state: a finalized share needs nothing more; completed files are done; parts
   * the server already holds (full size only) count as done and are never sent again.
   */
  private async loadStoredParts(): Promise<'finalized' | 'uploading'> {
    const state = await this.withRetry(() => cloudApi.uploadState(this.opts.shareId, this.opts.ownerToken))
    if (state.status === 'finalized') return 'finalized'
    for (const [i, f] of this.opts.files.entries()) {
      const known = state.files.find((s) => s.id === f.fileId)
      if (!known) throw new Error('The server does not know this file any more: please start a new upload.')
      if (known.completed) {
        this.completed.add(i)
        for (let n = 1; n <= f.partCount; n++) this.done[i]!.add(n)
        this.completedBytes += f.file.size
        this.resumedBytes += f.file.size
        continue
      }
      for (const p of known.parts) {
        if (p.partNumber < 1 || p.partNumber > f.partCount) continue
        const { start, end } = this.partRange(f, p.partNumber)
        if (p.size !== end - start) continue
        this.etags[i]!.set(p.partNumber, p.etag)
        this.done[i]!.add(p.partNumber)
        this.completedBytes += p.size
        this.resumedBytes += p.size
      }
    }
    return 'uploading'
  }

  private pendingTasks(): PartTask[] {
    const tasks: PartTask[] = []
    for (const [i, f] of this.opts.files.entries()) {
      for (let n = 1; n <= f.partCount; n++) {
        if (!this.done[i]!.has(n)) tasks.push({ file: i, partNumber: n, ...this.partRange(f, n) })
      }
    }
    return tasks
  }

  /**
   * The ETag of a part storage already holds in full, or null. One listing per file serves all the
   * parts that retry at the same moment (after an outage every worker asks at once).
   */
  private async storedPart(task: PartTask): Promise<string | null> {
    const f = this.opts.files[task.file]!
    let listing = this.listings.get(task.file)
    if (!listing || listing.at < Date.now() - 1000) {
      listing = { at: Date.now(), parts: cloudApi.listParts(this.opts.shareId, f.fileId, this.opts.ownerToken).then((r) => r.parts) }
      this.listings.set(task.file, listing)
    }
    const parts = await listing.parts.catch(() => [])
    const p = parts.find((x) => x.partNumber === task.partNumber)
    return p && p.size === task.end - task.start ? p.etag : null
  }

  /**
   * A fresh URL for a part. URLs expire quickly (PRESIGN_TTL), so they are signed in small batches
   * just before use: the batch is this part and the next few of the same file not yet signed.
   */
  private async urlFor(task: PartTask): Promise<string> {
    const cache = this.urls[task.file]!
    const cached = cache.get(task.partNumber)
    if (cached && cached.staleAt > Date.now()) return cached.url
    const pendingSign = this.signing[task.file]!.get(task.partNumber)
    if (pendingSign) {
      await pendingSign
      const signed = cache.get(task.partNumber)
      if (signed && signed.staleAt > Date.now()) return signed.url
    }
    const f = this.opts.files[task.file]!
    const batch: number[] = [task.partNumber]
    for (let n = task.partNumber + 1; n <= f.partCount && batch.length < SIGN_BATCH; n++) {
      const c = cache.get(n)
      if (this.done[task.file]!.has(n) || this.signing[task.file]!.has(n) || (c && c.staleAt > Date.now() + 20_000)) continue
      batch.push(n)
    }
    const work = (async () => {
      const res = await cloudApi.signParts(this.opts.shareId, f.fileId, this.opts.ownerToken, batch)
      const ttl = Date.parse(res.expiresAt) - Date.now()
      // Keep a margin for the clock skew between browser and server and for the PUT itself.
      const staleAt = Date.now() + (Number.isFinite(ttl) ? Math.max(ttl * 0.5, ttl - 15_000) : 20_000)
      for (const p of res.parts) cache.set(p.partNumber, { url: p.url, staleAt })
    })()
    for (const n of batch) this.signing[task.file]!.set(n, work)
    try {
      await work
    } finally {
      for (const n of batch) this.signing[task.file]!.delete(n)
    }
    const signed = cache.get(task.partNumber)
    if (!signed) throw new Error(`The server did not sign part ${task.partNumber}.`)
    return signed.url
  }

  private async uploadPart(task: PartTask) {
    const f = this.opts.files[task.file]!
    const key = `${task.file}:${task.partNumber}`
    const stored = (etag: string) => {
      this.inflight.delete(key)
      this.etags[task.file]!.set(task.partNumber, etag)
      this.done[task.file]!.add(task.partNumber)
      this.completedBytes += task.end - task.start
      if (this.phase === 'retrying') this.setPhase('uploading')
      this.emitSoon()
    }
    for (let attempt = 1; ; attempt++) {
      if (this.abort.signal.aborted) throw new Cancelled()
      try {
        // After a failure the part may have reached storage and only the answer got lost
        // (connection cut, server restarted): then it is not sent again.
        const already = attempt > 1 ? await this.storedPart(task) : null
        if (already !== null) return stored(already)
        const body = f.encoder ? await f.encoder.part(task.partNumber, f.partSize) : f.file.slice(task.start, task.end)
        const url = await this.urlFor(task)
        return stored(await this.put(url, body, key))
      } catch (err) {
        this.inflight.delete(key)
        this.emitSoon()
        if (err instanceof Cancelled || this.abort.signal.aborted) throw new Cancelled()
        // 403: the signed URL expired (or the clock is off): sign again at once.
        if (err instanceof PartHttpError && err.status === 403 && attempt < MAX_ATTEMPTS) {
          this.urls[task.file]!.delete(task.partNumber)
          continue
        }
        if (!isTransient(err) || attempt >= MAX_ATTEMPTS) throw err
        this.urls[task.file]!.delete(task.partNumber)
        this.message = 'Connection lost, retrying…'
        this.setPhase('retrying')
        await this.waitBeforeRetry(attempt, err)
      }
    }
  }

  private async waitBeforeRetry(attempt: number, err: unknown) {
    const retryAfter = err instanceof ApiError && err.retryAfter ? err.retryAfter * 1000 : 0
    const backoff = Math.min(8000, 500 * 2 ** attempt)
    if (typeof navigator !== 'undefined' && navigator.onLine === false) {
      // Offline: wait for the connection to come back rather than burning attempts.
      await new Promise<void>((resolve) => {
        const done = () => {
          window.removeEventListener('online', done)
          resolve()
        }
        window.addEventListener('online', done)
        this.abort.signal.addEventListener('abort', done, { once: true })
      })
      if (this.abort.signal.aborted) throw new Cancelled()
      return
    }
    await sleep(Math.max(retryAfter, backoff), this.abort.signal)
  }

  /** PUT with XMLHttpRequest: fetch cannot report upload progress. Resolves with the part's ETag. */
  private put(url: string, body: Blob, key: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest()
      this.xhrs.add(xhr)
      xhr.open('PUT', url)
      xhr.upload.onprogress = (e) => {
        this.inflight.set(key, e.loaded)
        this.emitSoon()
      }
      xhr.onload = () => {
        this.xhrs.delete(xhr)
        if (xhr.status >= 200 && xhr.status < 300) resolve(xhr.getResponseHeader('ETag') ?? '')
        else reject(new PartHttpError(xhr.status))
      }
      xhr.onerror = () => {
        this.xhrs.delete(xhr)
        reject(new PartHttpError(0))
      }
      xhr.onabort = () => {
        this.xhrs.delete(xhr)
        reject(new Cancelled())
      }
      xhr.send(body)
    })
  }

  private async completeFile(i: number, f: EngineFile) {
    let etags = this.etags[i]!
    // Without an exposed ETag header (a store without CORS expose-headers) ask the server for them.
    if ([...etags.values()].some((e) => !e)) {
      const { parts } = await this.withRetry(() => cloudApi.listParts(this.opts.shareId, f.fileId, this.opts.ownerToken))
      etags = new Map(parts.map((p) => [p.partNumber, p.etag]))
    }
    const parts = [...etags.entries()].sort((a, b) => a[0] - b[0]).map(([partNumber, etag]) => ({ partNumber, etag }))
    await this.withRetry(() => cloudApi.completeFile(this.opts.shareId, f.fileId, this.opts.ownerToken, parts))
  }

  private async withRetry<T>(call: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      if (this.abort.signal.aborted) throw new Cancelled()
      try {
        return await call()
      } catch (err) {
        if (!isTransient(err) || attempt >= MAX_ATTEMPTS) throw err
        const before = this.phase
        this.message = 'Connection lost, retrying…'
        this.setPhase('retrying')
        await this.waitBeforeRetry(attempt, err)
        this.setPhase(before === 'retrying' ? 'uploading' : before)
      }
    }
  }

  // ---------------------------------------------------------------- progress

  private setPhase(phase: UploadPhase) {
    this.phase = phase
    if (phase !== 'retrying' && phase !== 'failed') this.message = undefined
    this.emit()
  }

  private uploadedBytes(): number {
    let n = this.completedBytes
    for (const v of this.inflight.values()) n += v
    return Math.min(n, this.totalBytes)
  }

  private sample() {
    const now = performance.now()
    this.samples.push({ t: now, bytes: this.uploadedBytes() })
    while (this.samples.length > 2 && now - this.samples[0]!.t > SPEED_WINDOW_MS) this.samples.shift()
  }

  private speed(): number {
    const first = this.samples[0]
    const last = this.samples[this.samples.length - 1]
    if (!first || !last || last.t - first.t < 300) return 0
    return Math.max(0, ((last.bytes - first.bytes) * 1000) / (last.t - first.t))
  }

  /** At most ~6 snapshots a second: progress events fire far more often than a screen can show. */
  private emitSoon() {
    if (this.emitTimer) return
    const wait = Math.max(0, 150 - (performance.now() - this.lastEmit))
    this.emitTimer = setTimeout(() => {
      this.emitTimer = null
      this.emit()
    }, wait)
  }

  private emit() {
    this.lastEmit = performance.now()
    this.sample()
    const uploadedBytes = this.phase === 'done' || this.phase === 'finishing' ? this.totalBytes : this.uploadedBytes()
    const bytesPerSecond = this.speed()
    const left = this.totalBytes - uploadedBytes
    const files = this.opts.files.map((f, i) => {
      let uploaded = 0
      for (const n of this.done[i]!) {
        const { start, end } = this.partRange(f, n)
        uploaded += end - start
      }
      for (const [k, v] of this.inflight) if (k.startsWith(`${i}:`)) uploaded += v
      return {
        name: f.file.name,
        size: storedSize(f),
        uploaded: f.partCount === 0 || this.phase === 'done' ? storedSize(f) : Math.min(uploaded, storedSize(f)),
      }
    })
    this.opts.onProgress({
      phase: this.phase,
      totalBytes: this.totalBytes,
      uploadedBytes,
      resumedBytes: this.resumedBytes,
      bytesPerSecond,
      secondsLeft: bytesPerSecond > 0 ? left / bytesPerSecond : null,
      files,
      message: this.message,
    })
  }
}

export function isCancelled(err: unknown): boolean {
  return err instanceof Cancelled
}
