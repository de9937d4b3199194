import { i18n } from '../../i18n'
import { expectedPartSize } from '@sharesync/protocol'
import { ApiError } from '../../lib/api'
import type { PartEncoder } from './encryption/seal-upload'
import {
  filesToComplete,
  fileUploadedBytes,
  initialMachine,
  isTerminal,
  nextPart,
  reduce,
  totalBytes,
  uploadedBytes,
  workerWait,
  backoffMs,
  type PartFailure,
  type UploadEvent,
  type UploadMachine,
} from './upload-machine'
import { browserHttp, browserNetwork, PartHttpError, systemClock, type Clock, type Network, type UploadHttp } from './upload-ports'
import { SpeedMeter } from './upload-speed'

/**
 * Uploads the files of a created share straight to storage, in parts PUT to short-lived signed
 * URLs, a few at a time, then completes each file and finalizes the share. It starts from the
 * server's upload state (GET /api/shares/:id/upload), so the same code starts, resumes after a
 * reload and recovers from a lost answer. The rules live in the state machine (upload-machine.ts);
 * this scheduler runs its workers and talks to the outside world through narrow ports.
 */

export interface EngineFile {
  fileId: string
  /** bytes stored for the file: its size, or the encoded size for an encoded file */
  size: number
  partSize: number
  partCount: number
  /** the file itself; absent only for a file the server already holds complete (after a reload) */
  file?: File
  /** Transforms each part before its PUT (end-to-end encryption); absent: the file's bytes as they are. */
  encoder?: PartEncoder
}

export type UploadPhase = 'checking' | 'uploading' | 'retrying' | 'paused' | 'offline' | 'finishing' | 'done' | 'failed' | 'cancelled'

export interface FileProgress {
  name: string
  size: number
  uploaded: number
}

export interface UploadSnapshot {
  phase: UploadPhase
  totalBytes: number
  uploadedBytes: number
  /** Bytes already on the server when this session started (a resumed upload). */
  resumedBytes: number
  /** Over a moving window of the bytes sent in this session; 0 while paused or offline. */
  bytesPerSecond: number
  secondsLeft: number | null
  /** The one percentage shown and announced (whole percent): 100 once every byte is stored. */
  percent: number
  files: FileProgress[]
  message?: string
}

export interface EngineTuning {
  /** A part PUT with no progress for this long is aborted and sent again. */
  stallMs: number
  /** Attempts per part (and per control call) before the upload reports itself interrupted. */
  maxAttempts: number
  /** Pause after a 429 that names no Retry-After. */
  defaultRetryAfterMs: number
}

export interface EngineOptions {
  shareId: string
  ownerToken: string
  files: EngineFile[]
  /** names shown in the progress (the server may only know placeholder names) */
  names?: string[]
  concurrency?: number
  onProgress: (s: UploadSnapshot) => void
  ports?: { http?: UploadHttp; clock?: Clock; network?: Network }
  tuning?: Partial<EngineTuning>
}

const DEFAULT_TUNING: EngineTuning = { stallMs: 30_000, maxAttempts: 8, defaultRetryAfterMs: 5000 }
const SIGN_BATCH = 6
const EMIT_EVERY_MS = 150
/** More resyncs than this (the server keeps disagreeing about parts) and the upload gives up. */
const MAX_RESYNCS = 3

class Cancelled extends Error {
  constructor() {
    super('cancelled')
    this.name = 'Cancelled'
  }
}

class Stalled extends Error {
  constructor(seconds: number) {
    super(i18n.t('engine.stalled', { seconds }))
    this.name = 'Stalled'
  }
}

export function isCancelled(err: unknown): boolean {
  return err instanceof Cancelled
}

export class UploadEngine {
  private readonly abort = new AbortController()
  private readonly http: UploadHttp
  private readonly clock: Clock
  private readonly network: Network
  private readonly tuning: EngineTuning
  private m: UploadMachine
  private readonly speed = new SpeedMeter()
  private readonly urls = new Map<string, { url: string; staleAt: number }>()
  private readonly signing = new Map<string, Promise<void>>()
  private listing: { at: number; state: ReturnType<UploadHttp['state']> } | null = null
  private changed = promiseWithResolvers()
  private emitTimer: (() => void) | null = null
  private lastEmit = 0
  /** the error that failed the upload, as thrown (an ApiError keeps its status and code) */
  private failure: unknown = null
  private started = false
  private readonly done = promiseWithResolvers()
  /** Settles when run() has ended and nothing of this engine runs any more. */
  readonly settled: Promise<void> = this.done.promise

  constructor(private readonly opts: EngineOptions) {
    this.http = opts.ports?.http ?? browserHttp(opts.shareId, opts.ownerToken)
    this.clock = opts.ports?.clock ?? systemClock
    this.network = opts.ports?.network ?? browserNetwork
    this.tuning = { ...DEFAULT_TUNING, ...opts.tuning }
    this.m = initialMachine(
      opts.files.map((f) => ({ id: f.fileId, size: f.size, partSize: f.partSize, partCount: f.partCount })),
      this.tuning.maxAttempts,
    )
  }

  get totalBytes(): number {
    return totalBytes(this.m)
  }

  /** The machine's current state (tests and diagnostics). */
  get machine(): UploadMachine {
    return this.m
  }

  /** Runs to the end: every file completed and the share finalized. Rejects on failure or cancel. */
  async run(): Promise<void> {
    if (this.started) throw new Error('An upload engine runs once: make a new one to try again.')
    this.started = true
    const signal = this.abort.signal
    const unwatch = this.network.watch((online) => this.dispatch({ type: online ? 'online' : 'offline' }))
    if (!this.network.online()) this.dispatch({ type: 'offline' })
    this.emit()
    try {
      await this.load(signal)
      for (let resyncs = 0; ; resyncs++) {
        if (resyncs > MAX_RESYNCS) throw new Error(i18n.t('engine.resyncs'))
        if (this.m.phase === 'uploading') await this.sendParts(signal)
        if (this.m.phase === 'completing') await this.completeFiles(signal)
        if (this.m.phase === 'finalizing') await this.finalize(signal)
        if (this.m.phase === 'done') return
        if (this.m.phase === 'failed') throw this.failure ?? new Error(this.m.problem?.message ?? i18n.t('engine.failed'))
      }
    } catch (err) {
      if (err instanceof Cancelled || this.abort.signal.reason instanceof Cancelled) {
        this.dispatch({ type: 'cancelled' })
        throw new Cancelled()
      }
      const reason = this.failure ?? err
      if (this.m.phase !== 'failed') this.dispatch({ type: 'failed', message: messageOf(reason) })
      throw reason
    } finally {
      // Whatever ended the run, nothing of it goes on: workers, part PUTs, sleeps, the network watch.
      if (!signal.aborted) this.abort.abort(new Cancelled())
      unwatch()
      this.emitTimer?.()
      this.emit()
      this.done.resolve()
    }
  }

  /** Stops every worker and every request at once; run() rejects with a cancellation. */
  cancel(): void {
    this.abort.abort(new Cancelled())
  }

  // ---------------------------------------------------------------- the machine

  private dispatch(e: UploadEvent): void {
    const before = this.m
    this.m = reduce(this.m, e)
    if (this.m === before) return
    const wake = this.changed
    this.changed = promiseWithResolvers()
    wake.resolve()
    if (isTerminal(this.m) || before.phase !== this.m.phase || e.type === 'paused' || e.type === 'offline' || e.type === 'online') this.emit()
    else this.emitSoon()
  }

  /** A failure that ends the upload: every worker and request stops now, none starts afterwards. */
  private fail(err: unknown): never {
    this.failure ??= err
    if (this.m.phase !== 'failed') this.dispatch({ type: 'failed', message: messageOf(err) })
    if (!this.abort.signal.aborted) this.abort.abort(err)
    throw err
  }

  private async load(signal: AbortSignal): Promise<void> {
    const state = await this.control(() => this.http.state(), signal)
    this.dispatch({ type: 'stateLoaded', state })
    if (this.m.phase === 'failed') this.fail(new Error(this.m.problem?.message ?? i18n.t('engine.stateMismatch')))
    // A file the server still needs, whose bytes this page does not have.
    const missing = this.m.files.findIndex((f, i) => !f.completed && !this.opts.files[i]!.file && !this.opts.files[i]!.encoder)
    if (missing >= 0) this.fail(new Error(i18n.t('engine.pickAgain', { name: this.opts.names?.[missing] ?? i18n.t('engine.theFile') })))
  }

  // ---------------------------------------------------------------- parts

  private async sendParts(signal: AbortSignal): Promise<void> {
    const workers = Array.from({ length: Math.max(1, this.opts.concurrency ?? 4) }, () => this.worker(signal))
    // The first worker to fail aborts the others (fail() aborts the shared signal): they all end.
    await Promise.all(workers)
  }

  private async worker(signal: AbortSignal): Promise<void> {
    for (;;) {
      signal.throwIfAborted()
      const now = this.clock.now()
      const wait = workerWait(this.m, now)
      if (wait.kind === 'stop') return
      if (wait.kind === 'until') {
        await this.clock.sleep(wait.at - now, signal)
        continue
      }
      if (wait.kind === 'online' || wait.kind === 'change') {
        await this.nextChange(signal)
        continue
      }
      const task = nextPart(this.m, now)
      if (!task) continue
      this.dispatch({ type: 'partStarted', ...task })
      const outcome = await this.sendPart(task.file, task.part, signal)
      if ('etag' in outcome) {
        this.dispatch({ type: 'partStored', ...task, etag: outcome.etag })
        continue
      }
      if ('resync' in outcome) {
        await this.load(signal)
        continue
      }
      this.dispatch({ type: 'partFailed', ...task, failure: outcome.failure, at: this.clock.now(), random: this.clock.random() })
      if (this.m.phase === 'failed') this.fail(outcome.error)
    }
  }

  private async sendPart(file: number, part: number, signal: AbortSignal): Promise<{ etag: string } | { failure: PartFailure; error: unknown } | { resync: true }> {
    const local = this.opts.files[file]!
    const attempts = this.m.files[file]!.parts[part - 1]!.attempts
    try {
      // After a failure the part may have reached storage and only the answer got lost
      // (connection cut, server restarted): then it is not sent again.
      if (attempts > 1) {
        const etag = await this.alreadyStored(file, part)
        if (etag !== null) return { etag }
      }
      const start = (part - 1) * local.partSize
      const body = local.encoder ? await local.encoder.part(part, local.partSize) : local.file!.slice(start, start + expectedPartSize(local, part))
      try {
        signal.throwIfAborted()
        const url = await this.urlFor(file, part)
        signal.throwIfAborted()
        return await this.put(file, part, url, body, signal)
      } finally {
        local.encoder?.release?.(part)
      }
    } catch (err) {
      if (signal.aborted) throw signal.reason
      if (err instanceof PartHttpError && err.status === 403) this.urls.delete(`${file}:${part}`)
      if (err instanceof ApiError && err.code === 'share_finalized') {
        // The server says the link already works: a previous session finalized it.
        this.dispatch({ type: 'finalized' })
        return { etag: '' }
      }
      if (err instanceof ApiError && err.code === 'file_completed') return { resync: true }
      return { failure: this.classify(err), error: err }
    }
  }

  /** One PUT, aborted (and reported stalled) when no byte goes out for `stallMs`. */
  private async put(file: number, part: number, url: string, body: Blob | Uint8Array<ArrayBuffer>, signal: AbortSignal): Promise<{ etag: string }> {
    const own = new AbortController()
    const stop = () => own.abort(signal.reason)
    signal.addEventListener('abort', stop, { once: true })
    const stallSeconds = Math.round(this.tuning.stallMs / 1000)
    let cancelStall = this.clock.timer(this.tuning.stallMs, () => own.abort(new Stalled(stallSeconds)))
    try {
      return await this.http.putPart(url, body, {
        signal: own.signal,
        onProgress: (loaded) => {
          cancelStall()
          cancelStall = this.clock.timer(this.tuning.stallMs, () => own.abort(new Stalled(stallSeconds)))
          this.dispatch({ type: 'partProgress', file, part, loaded })
        },
      })
    } finally {
      cancelStall()
      signal.removeEventListener('abort', stop)
    }
  }

  private classify(err: unknown): PartFailure {
    if (err instanceof Stalled) return { kind: 'stalled', message: err.message }
    const status = err instanceof PartHttpError || err instanceof ApiError ? err.status : -1
    const retryAfterMs =
      err instanceof PartHttpError ? err.retryAfterMs : err instanceof ApiError && err.retryAfter ? err.retryAfter * 1000 : undefined
    if (status === 0) return { kind: 'network', message: i18n.t('upload.phase.retrying') }
    if (status === 429) return { kind: 'rateLimited', message: i18n.t('engine.slowDown'), retryAfterMs: retryAfterMs ?? this.tuning.defaultRetryAfterMs }
    if (status === 403 && err instanceof PartHttpError) return { kind: 'expired', message: i18n.t('engine.resign') }
    if (status >= 500) return { kind: 'server', message: i18n.t('engine.serverProblem') }
    if (err instanceof PartHttpError && status === 413) return { kind: 'refused', message: i18n.t('engine.partTooLarge') }
    if (err instanceof PartHttpError && status === 404) return { kind: 'refused', message: i18n.t('engine.goneFromStorage') }
    return { kind: 'refused', message: messageOf(err) }
  }

  /**
   * The ETag of a part storage already holds in full, or null. One look at the upload state serves
   * every part retrying at the same moment (after an outage every worker asks at once).
   */
  private async alreadyStored(file: number, part: number): Promise<string | null> {
    const now = this.clock.now()
    if (!this.listing || this.listing.at < now - 1000) {
      const state = this.http.state()
      state.catch(() => undefined)
      this.listing = { at: now, state }
    }
    const state = await this.listing.state.catch(() => null)
    const known = state?.files.find((f) => f.id === this.m.files[file]!.id)
    const held = known?.parts.find((p) => p.partNumber === part)
    return held && held.size === expectedPartSize(this.opts.files[file]!, part) ? held.etag : null
  }

  /**
   * A fresh URL for a part. URLs expire quickly (PRESIGN_TTL), so they are signed in small batches
   * just before use: the batch is this part and the next few of the same file not yet signed.
   */
  private async urlFor(file: number, part: number): Promise<string> {
    const key = `${file}:${part}`
    const now = this.clock.now()
    const cached = this.urls.get(key)
    if (cached && cached.staleAt > now) return cached.url
    const pending = this.signing.get(key)
    if (pending) {
      await pending
      const signed = this.urls.get(key)
      if (signed && signed.staleAt > this.clock.now()) return signed.url
    }
    const f = this.m.files[file]!
    const batch = [part]
    for (let n = part + 1; n <= f.parts.length && batch.length < SIGN_BATCH; n++) {
      const c = this.urls.get(`${file}:${n}`)
      if (f.parts[n - 1]!.status === 'stored' || this.signing.has(`${file}:${n}`) || (c && c.staleAt > now + 20_000)) continue
      batch.push(n)
    }
    const work = (async () => {
      const res = await this.http.signParts(f.id, batch)
      const ttl = Date.parse(res.expiresAt) - Date.now()
      // Keep a margin for the clock skew between browser and server and for the PUT itself.
      const staleAt = this.clock.now() + (Number.isFinite(ttl) ? Math.max(ttl * 0.5, ttl - 15_000) : 20_000)
      for (const p of res.parts) this.urls.set(`${file}:${p.partNumber}`, { url: p.url, staleAt })
    })()
    for (const n of batch) this.signing.set(`${file}:${n}`, work)
    try {
      await work
    } finally {
      for (const n of batch) this.signing.delete(`${file}:${n}`)
    }
    const signed = this.urls.get(key)
    if (!signed) throw new Error(i18n.t('engine.notSigned', { part }))
    return signed.url
  }

  // ---------------------------------------------------------------- files and share

  private async completeFiles(signal: AbortSignal): Promise<void> {
    for (const { file, parts } of filesToComplete(this.m)) {
      try {
        // ETags the store did not expose are left out: the server checks the ones given.
        await this.control(() => this.http.completeFile(this.m.files[file]!.id, parts.filter((p) => p.etag)), signal)
        this.dispatch({ type: 'fileCompleted', file })
      } catch (err) {
        if (err instanceof ApiError && err.code === 'share_finalized') return this.dispatch({ type: 'finalized' })
        // Storage does not hold what we thought: the server's state tells what to send again.
        if (err instanceof ApiError && (err.code === 'part_mismatch' || err.code === 'upload_incomplete')) return this.load(signal)
        this.fail(err)
      }
    }
  }

  private async finalize(signal: AbortSignal): Promise<void> {
    try {
      await this.control(() => this.http.finalize(), signal)
      this.dispatch({ type: 'finalized' })
    } catch (err) {
      if (err instanceof ApiError && err.code === 'upload_incomplete') return this.load(signal)
      this.fail(err)
    }
  }

  /**
   * A call to the ShareSync API, retried like a part: transient failures with backoff and jitter,
   * 429 as a pause for everyone (Retry-After), offline as a wait for the connection.
   */
  private async control<T>(call: () => Promise<T>, signal: AbortSignal): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      signal.throwIfAborted()
      while (this.m.offline || this.clock.now() < this.m.pausedUntil) {
        if (this.m.offline) await this.nextChange(signal)
        else await this.clock.sleep(this.m.pausedUntil - this.clock.now(), signal)
      }
      try {
        return await call()
      } catch (err) {
        if (signal.aborted) throw signal.reason
        const failure = this.classify(err)
        if (failure.kind === 'rateLimited') {
          this.dispatch({ type: 'paused', until: this.clock.now() + failure.retryAfterMs, message: failure.message })
          continue
        }
        if (failure.kind === 'network' && this.m.offline) continue
        if (failure.kind === 'refused' || failure.kind === 'expired' || attempt >= this.tuning.maxAttempts) throw err
        this.dispatch({ type: 'retrying', message: failure.message })
        await this.clock.sleep(backoffMs(attempt, this.clock.random()), signal)
      }
    }
  }

  private nextChange(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted()
    return new Promise<void>((resolve, reject) => {
      const abort = () => reject(signal.reason as Error)
      signal.addEventListener('abort', abort, { once: true })
      void this.changed.promise.then(() => {
        signal.removeEventListener('abort', abort)
        resolve()
      })
    })
  }

  // ---------------------------------------------------------------- progress

  /** At most ~6 snapshots a second: progress events fire far more often than a screen can show. */
  private emitSoon(): void {
    if (this.emitTimer) return
    const wait = Math.max(0, EMIT_EVERY_MS - (this.clock.now() - this.lastEmit))
    this.emitTimer = this.clock.timer(wait, () => {
      this.emitTimer = null
      this.emit()
    })
  }

  private emit(): void {
    this.emitTimer?.()
    this.emitTimer = null
    const now = this.clock.now()
    this.lastEmit = now
    this.opts.onProgress(this.snapshot(now))
  }

  private snapshot(now: number): UploadSnapshot {
    const m = this.m
    const total = totalBytes(m)
    const uploaded = uploadedBytes(m)
    const halted = m.offline || now < m.pausedUntil
    if (m.phase === 'uploading' && !halted) this.speed.add(now, Math.max(0, uploaded - m.resumedBytes))
    else this.speed.reset()
    const bytesPerSecond = m.phase === 'uploading' && !halted ? this.speed.rate(now) : 0
    const percent = m.phase === 'done' || total === 0 ? (m.phase === 'done' ? 100 : 0) : Math.floor((uploaded * 100) / total)
    return {
      phase: phaseOf(m, halted),
      totalBytes: total,
      uploadedBytes: uploaded,
      resumedBytes: m.resumedBytes,
      bytesPerSecond,
      secondsLeft: bytesPerSecond > 0 ? (total - uploaded) / bytesPerSecond : null,
      percent,
      files: this.opts.files.map((f, i) => ({ name: this.opts.names?.[i] ?? f.file?.name ?? 'file', size: m.files[i]!.size, uploaded: fileUploadedBytes(m, i) })),
      ...(m.problem ? { message: m.problem.message } : {}),
    }
  }
}

function phaseOf(m: UploadMachine, halted: boolean): UploadPhase {
  switch (m.phase) {
    case 'checking':
      return 'checking'
    case 'uploading':
      if (m.offline) return 'offline'
      if (halted) return 'paused'
      return m.problem?.retrying ? 'retrying' : 'uploading'
    case 'completing':
    case 'finalizing':
      return m.offline ? 'offline' : 'finishing'
    default:
      return m.phase
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : i18n.t('engine.failed')
}

function promiseWithResolvers(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void
  const promise = new Promise<void>((r) => (resolve = r))
  return { promise, resolve }
}
