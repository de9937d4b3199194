import { ChannelFrame, parseFrame, type Position } from '@sharesync/protocol'
import type { Pipe } from './pipe'
import type { FromSendWorker, ToSendWorker } from './send-protocol'
import SendWorker from './send-worker.ts?worker'

/**
 * The sender's side of one transfer. A worker reads the files ahead and hashes them; this loop only
 * slices its blocks into chunks and sends them, paced by two limits:
 * - the pipe's buffer (high-water mark, resumed on 'bufferedamountlow' with a timer fallback);
 * - the receiver's credit: at most WINDOW bytes of this pipe not yet acknowledged as written to
 *   disk, so a slow disk there never makes chunks pile up in memory.
 * Event-driven (no polling loop): it wakes on a block from the worker, a low buffer or an ack.
 */

export const HIGH_WATER_MARK = 4 * 1024 * 1024
export const LOW_WATER_MARK = 1024 * 1024
/** Bytes in flight beyond what the receiver has written: bounds the receiver's memory. */
export const CREDIT_WINDOW = 8 * 1024 * 1024
/** Blocks (2 MiB each) the worker reads ahead of the channel. */
const READ_AHEAD = 4

export interface SendHooks {
  /** bytes the receiver has written (all files, from the start of the transfer) */
  progress(bytes: number): void
  /** every byte and end-of-file frame is sent; the receiver's verdict follows on the control channel */
  sentAll(): void
  failed(message: string): void
}

export interface SendOptions {
  chunkSize: number
  window?: number
  /** test and diagnostics switch: send at most this many bytes per second (0: as fast as it goes) */
  bytesPerSecond?: number
}

type Item = { kind: 'block'; file: number; offset: number; data: Uint8Array<ArrayBuffer>; pos: number } | { kind: 'eof'; file: number; sha256: string }

export class FilesSender {
  private readonly worker: Worker
  private generation = 0
  private pipe: Pipe | null = null
  private queue: Item[] = []
  private sent = 0
  private acked = 0
  private base = 0
  private fallback: ReturnType<typeof setTimeout> | null = null
  private pacing: ReturnType<typeof setTimeout> | null = null
  private pacedSince = 0
  private pacedBytes = 0
  private stopped = false
  private chunk: number

  constructor(
    private readonly files: File[],
    private readonly hooks: SendHooks,
    private readonly opts: SendOptions,
  ) {
    this.chunk = opts.chunkSize
    this.worker = new SendWorker()
    this.worker.onmessage = (e: MessageEvent<FromSendWorker>) => this.fromWorker(e.data)
    this.worker.onerror = () => this.fail('the file could not be read')
    this.post({ op: 'files', files })
  }

  /** (Re)starts on `pipe` from `at`; an earlier pipe is dropped (its unsent blocks are read again). */
  async start(pipe: Pipe, at: Position, chunkSize = this.opts.chunkSize): Promise<void> {
    this.halt()
    this.chunk = chunkSize
    const gen = ++this.generation
    this.pipe = pipe
    this.queue = []
    this.sent = 0
    this.acked = 0
    this.base = this.files.slice(0, at.file).reduce((s, f) => s + f.size, 0) + at.offset
    this.pacedSince = performance.now()
    this.pacedBytes = 0
    try {
      await pipe.opened()
    } catch {
      return // the session sees the pipe close and interrupts the transfer
    }
    if (gen !== this.generation || this.stopped) return
    pipe.onMessage((data) => {
      if (gen !== this.generation || typeof data !== 'string') return
      const frame = parseFrame(data, ChannelFrame)
      if (frame?.t !== 'ack' || frame.bytes > this.sent || frame.bytes < this.acked) return
      this.acked = frame.bytes
      this.hooks.progress(this.base + this.acked)
      this.pump()
    })
    pipe.onLow(LOW_WATER_MARK, () => this.pump())
    pipe.send(JSON.stringify({ t: 'at', file: at.file, offset: at.offset } satisfies ChannelFrame))
    this.hooks.progress(this.base)
    this.post({ op: 'start', generation: gen, at, credits: READ_AHEAD })
  }

  /** Stops for good (the worker ends). */
  stop(): void {
    this.stopped = true
    this.halt()
    this.post({ op: 'stop' })
    this.worker.terminate()
  }

  private halt() {
    this.generation += 1
    this.post({ op: 'stop' })
    this.pipe = null
    this.queue = []
    this.clearTimers()
  }

  private clearTimers() {
    if (this.fallback) clearTimeout(this.fallback)
    if (this.pacing) clearTimeout(this.pacing)
    this.fallback = null
    this.pacing = null
  }

  private post(msg: ToSendWorker) {
    if (!this.stopped || msg.op === 'stop') this.worker.postMessage(msg)
  }

  private fromWorker(msg: FromSendWorker) {
    if (msg.generation !== this.generation || this.stopped) return
    if (msg.op === 'error') return this.fail(msg.message)
    if (msg.op === 'block') this.queue.push({ kind: 'block', file: msg.file, offset: msg.offset, data: new Uint8Array(msg.buf), pos: 0 })
    else this.queue.push({ kind: 'eof', file: msg.file, sha256: msg.sha256 })
    this.pump()
  }

  private pump() {
    const pipe = this.pipe
    if (!pipe || this.stopped) return
    const gen = this.generation
    const chunk = this.chunk
    const window = this.opts.window ?? CREDIT_WINDOW
    const rate = this.opts.bytesPerSecond ?? 0
    this.clearTimers()
    try {
      while (this.queue.length > 0) {
        if (!pipe.isOpen) return
        const item = this.queue[0]!
        if (item.kind === 'eof') {
          pipe.send(JSON.stringify({ t: 'eof', file: item.file, sha256: item.sha256 } satisfies ChannelFrame))
          this.queue.shift()
          if (item.file === this.files.length - 1) this.hooks.sentAll()
          continue
        }
        while (item.pos < item.data.byteLength) {
          const n = Math.min(chunk, item.data.byteLength - item.pos)
          if (pipe.bufferedAmount > HIGH_WATER_MARK) {
            // 'bufferedamountlow' can be missed when the threshold is crossed between checks.
            this.fallback = setTimeout(() => this.pump(), 50)
            return
          }
          // Waiting for credit: the next ack wakes the loop.
          if (this.sent + n - this.acked > window) return
          if (rate > 0) {
            const due = this.pacedSince + ((this.pacedBytes + n) / rate) * 1000
            const wait = due - performance.now()
            if (wait > 0) {
              this.pacing = setTimeout(() => this.pump(), Math.max(4, wait))
              return
            }
            this.pacedBytes += n
          }
          pipe.send(item.data.subarray(item.pos, item.pos + n))
          item.pos += n
          this.sent += n
        }
        this.queue.shift()
        // send() copied the bytes: free the block now rather than whenever the collector runs.
        ;(item.data.buffer as ArrayBuffer & { transfer?: (length: number) => ArrayBuffer }).transfer?.(0)
        this.post({ op: 'more', generation: gen, n: 1 })
      }
    } catch {
      // send() throws when the channel closed under us: the session handles the close.
    }
  }

  private fail(message: string) {
    if (this.stopped) return
    this.stop()
    this.hooks.failed(message)
  }
}
