import { i18n } from '../../../i18n'
import type { PeerFile } from '@sharesync/protocol'
import { saveTransfer, type SavedTransfer } from './checkpoints'
import type { Pipe } from './pipe'
import type { PeerPort } from './ports'
import { ProgressMeter } from './progress'
import type { SinkCheckpoint } from './receive-protocol'
import { FilesReceiver } from './receive-files'
import { FilesSender } from './send-files'
import { canStreamToDisk, sinkTarget, uniqueName, type ForcedSink, type SinkKind } from './sinks'
import { bytesBefore, isFinal, type TransferEvent, type TransferState } from './transfer-machine'

/**
 * A transfer's I/O: the receiving worker and its sink, the sending worker and its channels, the
 * checkpoints saved for a reload, and the received files' object URLs. It carries out the transfer
 * machine's effects and reports back to the session as machine events.
 */

export interface ReceivedFile {
  name: string
  size: number
  /** a blob: URL to save it from; empty when it already went to the browser's downloads */
  url: string
  verified: boolean
  sink: SinkKind
}

/** A transfer as the session runs it: its machine state plus the I/O that carries it out. */
export interface Live {
  state: TransferState
  meter: ProgressMeter
  startedAt: number
  received: ReceivedFile[]
  memoryWarning: boolean
  outgoing?: File[]
  sender?: FilesSender
  receiver?: FilesReceiver
  pipe?: Pipe
  pipes: number
  picked?: FileSystemDirectoryHandle | null
  checkpoint: SavedTransfer['checkpoint']
  sinkKind?: SinkKind
  timers: Map<string, ReturnType<typeof setTimeout>>
}

export function newLive(state: TransferState): Live {
  return {
    state,
    meter: new ProgressMeter(state.files.reduce((s, f) => s + f.size, 0)),
    startedAt: performance.now(),
    received: [],
    memoryWarning: state.direction === 'receive' && state.files.some((f) => !canStreamToDisk(f.size)),
    pipes: 0,
    checkpoint: null,
    timers: new Map(),
  }
}

export interface TransferIoHost {
  dispatch(t: Live, e: TransferEvent): void
  /** progress moved (the session throttles what it renders) */
  notify(): void
  link(peerId: string): PeerPort | undefined
  isConnected(peerId: string): boolean
  /** the room's secret, when this is a room (only room transfers resume after a reload) */
  roomSecret(): string | null
}

export interface TransferIoOptions {
  forceSink?: ForcedSink
  sendBytesPerSecond?: number
  sinkBytesPerSecond?: number
}

export class TransferIo {
  private readonly takenNames = new Set<string>()
  private readonly urls = new Set<string>()

  constructor(
    private readonly host: TransferIoHost,
    private readonly opts: TransferIoOptions,
  ) {}

  /** The receiver's worker and sink for `t`, prepared at its current position (or checkpoint). */
  async openSink(t: Live) {
    const s = t.state
    t.receiver ??= new FilesReceiver(
      s.files,
      {
        target: async (file, index) => {
          const target = await sinkTarget(file, s.id, index, t.picked ?? null, this.opts.forceSink)
          t.sinkKind = target.kind
          return target
        },
        written: (at) => {
          t.meter.update(bytesBefore(t.state.files, at))
          this.host.dispatch(t, { type: 'written', at })
        },
        checkpoint: (file, cp: SinkCheckpoint) => {
          t.checkpoint = { file, ...cp }
          void this.persist(t)
        },
        checked: (index, ok, saved) => {
          const meta = t.state.files[index]!
          if (ok) this.addReceived(t, meta, saved, true, t.sinkKind ?? 'opfs')
          this.host.dispatch(t, { type: 'file-checked', file: index, ok })
          if (ok) void this.persist(t)
        },
        allDone: () => {
          t.meter.update(t.meter.total)
          this.host.dispatch(t, { type: 'all-received' })
        },
        failed: (reason) => this.host.dispatch(t, { type: 'error', message: i18n.t('engine.receivingStopped', { reason }) }),
      },
      { bytesPerSecond: this.opts.sinkBytesPerSecond },
    )
    const checkpoint = t.checkpoint && t.checkpoint.file === s.at.file ? t.checkpoint : null
    try {
      const { at } = await t.receiver.prepare(checkpoint ? { file: s.at.file, offset: checkpoint.offset } : s.at, checkpoint)
      t.meter.update(bytesBefore(s.files, at))
      // While this page lives, its worker keeps any sink's exact position: every sink resumes.
      this.host.dispatch(t, { type: 'sink-ready', at, resumable: true })
    } catch (err) {
      this.host.dispatch(t, { type: 'error', message: i18n.t('engine.receivingStopped', { reason: err instanceof Error ? err.message : i18n.t('engine.notOpened') }) })
    }
  }

  /** Sends `t` from `at` on a new channel of its peer's link. */
  async pump(t: Live, at: { file: number; offset: number }) {
    const link = this.host.link(t.state.peerId)
    if (!link || !t.outgoing) return
    if (at.file >= t.state.files.length) return this.host.dispatch(t, { type: 'sent-all' })
    t.sender ??= new FilesSender(
      t.outgoing,
      {
        progress: (bytes) => {
          t.meter.update(bytes)
          this.host.notify()
        },
        sentAll: () => this.host.dispatch(t, { type: 'sent-all' }),
        failed: (message) => this.host.dispatch(t, { type: 'error', message: i18n.t('engine.sendingFailed', { reason: message }) }),
      },
      { chunkSize: link.chunkSize(), bytesPerSecond: this.opts.sendBytesPerSecond },
    )
    t.pipe?.close()
    t.pipes += 1
    const n = t.pipes
    let pipe: Pipe
    try {
      pipe = await link.openPipe(`x:${t.state.id}:${n}`, t.meter.total - bytesBefore(t.state.files, at))
    } catch (err) {
      return this.host.dispatch(t, { type: 'error', message: i18n.t('engine.sendingFailed', { reason: err instanceof Error ? err.message : i18n.t('engine.noChannel') }) })
    }
    // Superseded while the channel was being opened (another resume, a cancel).
    if (t.pipes !== n || t.state.phase !== 'active') return pipe.close()
    t.pipe = pipe
    pipe.onClose(() => {
      // The channel closed under a moving transfer while the link stays up: go on over a new one.
      if (t.pipe !== pipe || t.state.phase !== 'active') return
      this.host.dispatch(t, { type: 'link-down', why: 'lost' })
      if (this.host.isConnected(t.state.peerId)) this.host.dispatch(t, { type: 'link-up' })
    })
    void t.sender.start(pipe, at, link.chunkSize())
  }

  /** Closes `t`'s channel; a final transfer also ends its sender or receiver (discarding what it received). */
  stop(t: Live, discard: boolean) {
    const final = isFinal(t.state.phase)
    const pipe = t.pipe
    t.pipe = undefined
    pipe?.close()
    if (t.state.direction === 'send') {
      if (final) {
        t.sender?.stop()
        t.sender = undefined
      }
      return
    }
    // An interruption keeps the receive worker (and its exact position) for the resume.
    if (final && t.receiver) {
      void t.receiver.close(discard)
      t.receiver = undefined
    }
  }

  /** Saves a room transfer's position so that it resumes after a reload. */
  async persist(t: Live) {
    const s = t.state
    const room = this.host.roomSecret()
    // Only room transfers resume after a reload (the room's link brings the page back to them).
    if (!room || isFinal(s.phase)) return
    // Only OPFS files outlive the page (a picked folder needs a new permission, a download stream ends).
    if (s.direction === 'receive' && t.sinkKind !== 'opfs') return
    await saveTransfer({ id: s.id, direction: s.direction, room, peerId: s.peerId, peerName: s.peerName, files: s.files, at: s.at, checkpoint: t.checkpoint, savedAt: Date.now() })
  }

  addReceived(t: Live, meta: PeerFile, saved: File | null, verified: boolean, sink: SinkKind) {
    const url = saved ? URL.createObjectURL(saved) : ''
    if (url) this.urls.add(url)
    // A picked folder already chose a free name on disk; other files get one among this page's files.
    const name = sink === 'picked' && saved ? saved.name : meta.name
    t.received = [...t.received, { name: uniqueName(name, this.takenNames), size: meta.size, url, verified, sink }]
  }

  revoke(url: string) {
    if (!url) return
    URL.revokeObjectURL(url)
    this.urls.delete(url)
  }

  /** Every received file's object URL (the room is left). */
  revokeAll() {
    for (const url of this.urls) URL.revokeObjectURL(url)
    this.urls.clear()
  }
}
