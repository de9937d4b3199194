import { PEER_PROTOCOL_VERSION, PeerMessage, parseFrame } from '@sharesync/protocol'
import { z } from 'zod'
import type { Pipe } from './pipe'
import { PipeClosed } from './pipe'
import type { PeerPort, PeerPortEvents } from './ports'
import type { LinkPath, LinkState } from './room-machine'

/**
 * The server relay, for two devices that cannot connect directly: relay channels stand in for data
 * channels (ordered, reliable, both ways), the server forwards each message and answers its ack once
 * the far end consumed it. A RelayPipe keeps at most `window` messages unacknowledged and queues the
 * rest; a RelayLink is a peer link whose control channel and transfer channels are all relay channels.
 */

export interface RelayOpened {
  id: string
  chunkBytes: number
  window: number
}

export type RelayOpenResult = { ok: true; relay: RelayOpened } | { ok: false; code: string; message: string }

export interface RelayPort {
  openRelay(to: string, bytes: number): Promise<RelayOpenResult>
  relayData(id: string, data: Uint8Array<ArrayBuffer> | string, done: (ok: boolean) => void): void
  closeRelay(id: string): void
}

/** The first message on every relay channel names it, as a data channel's label would. */
const Label = z.object({ t: z.literal('label'), label: z.string().min(1).max(100) })

export class RelayPipe implements Pipe {
  readonly path = 'relay' as const
  private queue: (Uint8Array<ArrayBuffer> | string)[] = []
  private queued = 0
  private unacked = 0
  private unackedBytes = 0
  private closed = false
  private message: ((data: ArrayBuffer | string) => void) | null = null
  private early: (ArrayBuffer | string)[] = []
  private low: { threshold: number; fn: () => void } | null = null
  private closers: (() => void)[] = []

  constructor(
    private readonly port: RelayPort,
    readonly id: string,
    public label: string,
    private readonly window: number,
    readonly chunkBytes: number,
  ) {}

  get bufferedAmount() {
    return this.queued + this.unackedBytes
  }

  get isOpen() {
    return !this.closed
  }

  opened(): Promise<void> {
    return this.closed ? Promise.reject(new PipeClosed()) : Promise.resolve()
  }

  send(data: Uint8Array<ArrayBuffer> | string): void {
    if (this.closed) throw new PipeClosed()
    // A copy: the caller may reuse (or free) the block the view points into.
    const item = typeof data === 'string' ? data : data.slice()
    this.queue.push(item)
    this.queued += size(item)
    this.flush()
  }

  onMessage(fn: (data: ArrayBuffer | string) => void): void {
    this.message = fn
    const early = this.early
    this.early = []
    for (const d of early) fn(d)
  }

  onLow(threshold: number, fn: () => void): void {
    this.low = { threshold, fn }
  }

  onClose(fn: () => void): void {
    this.closers.push(fn)
  }

  close(): void {
    if (this.closed) return
    this.port.closeRelay(this.id)
    this.ended()
  }

  /** A message from the far end (the session routes relay:data here). */
  deliver(data: ArrayBuffer | string): void {
    if (this.closed) return
    if (this.message) this.message(data)
    else this.early.push(data)
  }

  /** Stops reading: what arrives waits for the next onMessage. */
  unlisten(): void {
    this.message = null
  }

  ended(): void {
    if (this.closed) return
    this.closed = true
    this.queue = []
    for (const fn of this.closers) fn()
  }

  private flush() {
    while (!this.closed && this.queue.length > 0 && this.unacked < this.window) {
      const item = this.queue.shift()!
      const n = size(item)
      this.queued -= n
      this.unacked += 1
      this.unackedBytes += n
      this.port.relayData(this.id, item, (ok) => {
        this.unacked -= 1
        this.unackedBytes -= n
        if (!ok) return this.ended()
        this.flush()
        if (this.low && this.bufferedAmount <= this.low.threshold) this.low.fn()
      })
    }
  }
}

function size(item: Uint8Array | string): number {
  return typeof item === 'string' ? item.length * 3 : item.byteLength
}

/** Opens a relay channel to `to` and names it; null with the server's refusal when it cannot. */
export async function openRelayPipe(port: RelayPort, to: string, label: string, bytes: number): Promise<RelayPipe | { code: string; message: string }> {
  const res = await port.openRelay(to, bytes + 4096)
  if (!res.ok) return { code: res.code, message: res.message }
  const pipe = new RelayPipe(port, res.relay.id, label, res.relay.window, res.relay.chunkBytes)
  pipe.send(JSON.stringify({ t: 'label', label }))
  return pipe
}

/** The far end of a relay channel: its first message says what it is for. */
export function acceptRelayPipe(port: RelayPort, opened: { id: string; chunkBytes: number; window: number }, named: (pipe: RelayPipe) => void): RelayPipe {
  const pipe = new RelayPipe(port, opened.id, '', opened.window, opened.chunkBytes)
  pipe.onMessage((data) => {
    const label = typeof data === 'string' ? parseFrame(data, Label) : null
    if (!label) return pipe.close()
    pipe.label = label.label
    // The label is consumed: what follows waits for whoever takes the pipe.
    pipe.unlisten()
    named(pipe)
  })
  return pipe
}

/** Control messages and transfer channels through the server, for a pair with no direct link. */
export class RelayLink implements PeerPort {
  state: LinkState = 'connected'
  readonly path: LinkPath = 'relay'
  private remoteMaxMessage = 0

  constructor(
    readonly remoteId: string,
    private readonly port: RelayPort,
    private readonly control: RelayPipe,
    private readonly events: PeerPortEvents,
    private readonly register: (pipe: RelayPipe) => void,
  ) {
    control.onMessage((data) => {
      if (typeof data !== 'string') return
      const msg = parseFrame(data, PeerMessage)
      if (!msg) return
      if (msg.t === 'hello') this.remoteMaxMessage = msg.maxMessageSize
      else events.message(msg)
    })
    control.onClose(() => {
      if (this.state === 'closed') return
      this.state = 'failed'
      events.state('failed', 'relay')
    })
    this.send({ t: 'hello', v: PEER_PROTOCOL_VERSION, maxMessageSize: control.chunkBytes })
  }

  async start(): Promise<void> {}

  async handleSignal(_data: unknown): Promise<void> {}

  send(msg: PeerMessage): boolean {
    if (!this.control.isOpen) return false
    this.control.send(JSON.stringify(msg))
    return true
  }

  async openPipe(label: string, bytes: number): Promise<Pipe> {
    const pipe = await openRelayPipe(this.port, this.remoteId, label, bytes)
    if (!(pipe instanceof RelayPipe)) throw new PipeClosed(pipe.message)
    this.register(pipe)
    return pipe
  }

  chunkSize(): number {
    const theirs = this.remoteMaxMessage > 0 ? this.remoteMaxMessage : this.control.chunkBytes
    return Math.max(16 * 1024, Math.min(this.control.chunkBytes, theirs, 256 * 1024))
  }

  close(): void {
    if (this.state === 'closed') return
    this.state = 'closed'
    this.control.close()
  }
}

