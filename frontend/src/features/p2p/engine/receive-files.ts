import { ChannelFrame, parseFrame, type PeerFile, type Position } from '@sharesync/protocol'
import type { Pipe } from './pipe'
import type { FromWorker, SinkCheckpoint, SinkTarget, ToWorker } from './receive-protocol'
import ReceiveWorker from './receive-worker.ts?worker'

/**
 * The receiver's side of one transfer, on the page: it forwards the pipe's chunks to the receive
 * worker (transferring the buffers, no copy) and does nothing else with them; the worker hashes
 * and writes. What the worker reports written goes back to the sender as credit ('ack' frames).
 * A new pipe (after an interruption) takes over from the exact position the worker reached.
 */

export interface ReceiveHooks {
  /** where to write file `index` (opened lazily, in order) */
  target(file: PeerFile, index: number): Promise<SinkTarget>
  written(at: Position): void
  checkpoint(file: number, checkpoint: SinkCheckpoint): void
  /** `saved` is null when the file went to the downloads, or was damaged (and deleted) */
  checked(index: number, ok: boolean, saved: File | null): void
  allDone(): void
  failed(reason: string): void
}

export interface ReceiveOptions {
  /** test and diagnostics switch: a slow disk (bytes per second, 0: as fast as it goes) */
  bytesPerSecond?: number
}

/** A message to the worker, in order; `msg` is null while its file's target is being made. */
interface Slot {
  msg: ToWorker | null
  transfer: Transferable[]
}

export class FilesReceiver {
  private worker: Worker | null = null
  private pipe: Pipe | null = null
  private pipeBase = 0
  private total = 0
  /** the file the worker has open, or will have once its target is ready */
  private openFile = -1
  private outbox: Slot[] = []
  private waiters = new Map<string, (msg: FromWorker) => void>()
  private stopped = false
  /** the sender's 'at' frame arrived on the current pipe */
  private positioned = false
  private at: Position = { file: 0, offset: 0 }

  constructor(
    private readonly files: PeerFile[],
    private readonly hooks: ReceiveHooks,
    private readonly opts: ReceiveOptions = {},
  ) {}

  /**
   * Opens (or, when it is open, settles) the sink and answers the exact position the sender must
   * start from: the start, a checkpoint after a reload, or what the worker reached before a drop.
   */
  async prepare(from: Position, checkpoint: SinkCheckpoint | null): Promise<{ at: Position; resumable: boolean }> {
    this.detach()
    if (this.worker) {
      const drained = await this.ask({ op: 'drain' }, 'drained')
      if (drained.op !== 'drained') throw new Error('the receive worker stopped')
      this.total = drained.total
      this.at = drained.at
      if (this.at.file < this.files.length && this.openFile !== this.at.file) await this.openNext(this.at.file, null)
      return { at: this.at, resumable: true }
    }
    this.worker = new ReceiveWorker()
    this.worker.onmessage = (e: MessageEvent<FromWorker>) => this.fromWorker(e.data)
    this.worker.onerror = () => this.fail('the receiving worker failed')
    if (from.file >= this.files.length) return { at: from, resumable: true }
    const opened = await this.openNext(from.file, checkpoint)
    this.at = { file: from.file, offset: opened.offset }
    return { at: this.at, resumable: opened.resumable }
  }

  /** The bytes of a (new) pipe go to the sink from here on; an earlier pipe is ignored. */
  attach(pipe: Pipe): void {
    this.detach()
    this.pipe = pipe
    this.pipeBase = this.total
    this.positioned = false
    pipe.onMessage((data) => {
      if (this.pipe !== pipe || this.stopped) return
      if (data instanceof ArrayBuffer) {
        if (!this.positioned) return this.fail('data before its position')
        this.post({ op: 'chunk', buf: data }, [data])
        return
      }
      const frame = parseFrame(data, ChannelFrame)
      if (!frame || frame.t === 'ack') return this.fail('an unexpected message from the sender')
      if (frame.t === 'at') {
        if (frame.file !== this.at.file || frame.offset !== this.at.offset) return this.fail('the sender started at the wrong place')
        this.positioned = true
        return
      }
      if (!this.positioned || frame.file !== this.openFile) return this.fail('an unexpected end of file')
      this.post({ op: 'eof', file: frame.file, sha256: frame.sha256 })
      const next = frame.file + 1
      if (next < this.files.length) void this.openNext(next, null).catch((err: unknown) => this.fail(err instanceof Error ? err.message : 'the next file could not be opened'))
    })
  }

  /** Stops; `discard` deletes the file being written (never after an interruption: it resumes). */
  async close(discard: boolean): Promise<void> {
    this.stopped = true
    this.detach()
    const worker = this.worker
    this.worker = null
    if (!worker) return
    const done = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 5000)
      worker.addEventListener('message', (e: MessageEvent<FromWorker>) => {
        if (e.data.op === 'closed') {
          clearTimeout(timer)
          resolve()
        }
      })
    })
    worker.postMessage({ op: 'close', discard } satisfies ToWorker)
    await done
    worker.terminate()
  }

  private detach() {
    this.pipe = null
  }

  private async openNext(index: number, checkpoint: SinkCheckpoint | null) {
    this.openFile = index
    const file = this.files[index]!
    // Its place in the order is taken now; chunks that arrive while the target is being made wait
    // behind it (bounded by the sender's credit window).
    const slot: Slot = { msg: null, transfer: [] }
    this.outbox.push(slot)
    const opened = new Promise<FromWorker>((resolve) => this.waiters.set('opened', resolve))
    const target = await this.hooks.target(file, index)
    slot.transfer = target.kind === 'download' ? [target.port] : []
    slot.msg = { op: 'open', file: index, size: file.size, target, from: checkpoint, bytesPerSecond: this.opts.bytesPerSecond ?? 0 }
    this.flush()
    const msg = await opened
    if (msg.op !== 'opened') throw new Error('the file could not be opened')
    return msg
  }

  private post(msg: ToWorker, transfer: Transferable[] = []) {
    if (this.outbox.length > 0) {
      this.outbox.push({ msg, transfer })
      return
    }
    this.worker?.postMessage(msg, transfer)
  }

  private flush() {
    while (this.outbox.length > 0 && this.outbox[0]!.msg) {
      const { msg, transfer } = this.outbox.shift()!
      this.worker?.postMessage(msg, transfer)
    }
  }

  private ask(msg: ToWorker, answer: FromWorker['op']): Promise<FromWorker> {
    return new Promise((resolve) => {
      this.waiters.set(answer, resolve)
      this.post(msg)
    })
  }

  private fromWorker(msg: FromWorker) {
    const waiter = this.waiters.get(msg.op)
    if (waiter) {
      this.waiters.delete(msg.op)
      waiter(msg)
    }
    if (this.stopped && msg.op !== 'closed') return
    switch (msg.op) {
      case 'written': {
        this.total = msg.total
        this.at = msg.at
        this.hooks.written(msg.at)
        const pipe = this.pipe
        if (pipe?.isOpen && this.positioned) {
          try {
            pipe.send(JSON.stringify({ t: 'ack', bytes: this.total - this.pipeBase } satisfies ChannelFrame))
          } catch {
            // closed meanwhile: the next pipe starts from the drained position
          }
        }
        return
      }
      case 'checkpoint':
        return this.hooks.checkpoint(msg.file, msg.checkpoint)
      case 'checked':
        this.hooks.checked(msg.file, msg.ok, msg.saved)
        if (!msg.ok) return
        if (msg.file === this.files.length - 1) this.hooks.allDone()
        return
      case 'error':
        return this.fail(msg.message)
      case 'drained':
      case 'opened':
      case 'closed':
        return
    }
  }

  private fail(reason: string) {
    if (this.stopped) return
    this.hooks.failed(reason)
  }
}
