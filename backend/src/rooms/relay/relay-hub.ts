import { randomBytes } from 'node:crypto'
import type { RelayCloseReason } from '@sharesync/protocol'
import { AppError } from '../../http/app-error'
import { decodeFrame, encodeFrame, type RelayFrame } from './relay-frame'

/**
 * Server relay channels: two members that cannot connect directly exchange messages through the
 * server, one channel standing in for one RTCDataChannel. Every message is acknowledged by the far
 * end's client once consumed, and only then is the sender's own ack answered: that is the flow
 * control, end to end. A sender with `window` messages unacknowledged, or past the bytes it opened
 * for, has the channel closed, so the server holds at most `window` messages per channel and
 * direction, and stores nothing.
 *
 * Ends on this instance talk directly; an end on another instance is reached through the relay bus
 * (relay-bus.ts), addressed to that instance only.
 */

/** One socket, as the hub sees it (rooms.socket.ts adapts Socket.IO sockets to this). */
export interface RelayEndpoint {
  /** the connection (one endpoint per socket) */
  readonly conn: string
  readonly peerId: string
  opened(p: { id: string; from: string; bytes: number; chunkBytes: number; window: number }): void
  /** hands a message to the client; `done` once it acknowledged it, or with an error (too late, gone) */
  deliver(p: { id: string; data: Buffer | string }, done: (err: Error | null) => void): void
  closed(p: { id: string; reason: RelayCloseReason }): void
}

export interface RelayBus {
  send(instance: string, frame: Buffer): void
  /** frames addressed to this instance */
  listen(onFrame: (frame: Buffer) => void): void
  close(): Promise<void>
}

export interface RelayRules {
  /** the biggest message */
  chunkBytes: number
  /** messages unacknowledged at once, per channel and direction */
  window: number
  /** a message unacknowledged this long closes the channel */
  stallMs: number
  /** channels a socket may have open (as opener) */
  maxPerSocket: number
  /** channel ends this instance holds at most */
  maxEnds: number
}

/** An end that closed, for the statistics: what this end sent. */
export interface RelayFinished {
  id: string
  roomId: string
  conn: string
  opener: boolean
  /** bytes the channel was opened for (each way), bytes this end sent, and bytes delivered to it */
  declared: number
  sent: number
  received: number
  ms: number
  reason: RelayCloseReason
}

export interface RelayHubDeps {
  instance: string
  rules: RelayRules
  /** null with one instance */
  bus: RelayBus | null
  /** the endpoint of `peerId` if it is connected to this instance and a member of `roomId` */
  local(peerId: string, roomId: string): RelayEndpoint | undefined
  finished(f: RelayFinished): void
  now?: () => number
}

interface Pending {
  reply: (err: AppError | null) => void
  at: number
}

interface End {
  id: string
  roomId: string
  opener: boolean
  local: RelayEndpoint
  /** the other end: here, or on another instance */
  other: { kind: 'local'; end: End } | { kind: 'remote'; instance: string }
  declared: number
  sent: number
  received: number
  nextSeq: number
  inFlight: Map<number, Pending>
  openedAt: number
}

export interface RelayTarget {
  peerId: string
  roomId: string
  /** the instance that holds the target's socket */
  instance: string
}

const closedError = () => new AppError('relay_closed', 'This relay channel is closed.')

export class RelayHub {
  private readonly channels = new Map<string, End[]>()
  private ends = 0
  private readonly sweeper: ReturnType<typeof setInterval>
  private readonly now: () => number

  constructor(private readonly deps: RelayHubDeps) {
    this.now = deps.now ?? Date.now
    deps.bus?.listen((buf) => {
      const frame = decodeFrame(buf)
      if (frame) this.onFrame(frame)
    })
    // Deliveries to another instance have no Socket.IO timeout of their own: swept here.
    this.sweeper = setInterval(() => this.sweep(), Math.max(50, Math.min(1000, deps.rules.stallMs / 2)))
    this.sweeper.unref()
  }

  get rules(): RelayRules {
    return this.deps.rules
  }

  /** Channels `conn` opened and that are still open. */
  openedBy(conn: string): number {
    let n = 0
    for (const ends of this.channels.values()) for (const e of ends) if (e.opener && e.local.conn === conn) n++
    return n
  }

  /** Opens a channel from `from` to `target` for at most `bytes` each way; the target is told at once. */
  open(from: RelayEndpoint, target: RelayTarget, bytes: number): { id: string } {
    const { rules } = this.deps
    if (this.openedBy(from.conn) >= rules.maxPerSocket) throw new AppError('rate_limited', `At most ${rules.maxPerSocket} relay channels at once.`)
    if (this.ends >= rules.maxEnds) throw new AppError('rate_limited', 'The server relay is busy; try again in a moment.')
    const id = randomBytes(12).toString('base64url')
    const mine = this.addEnd({ id, roomId: target.roomId, opener: true, local: from, declared: bytes })
    const localTarget = target.instance === this.deps.instance ? this.deps.local(target.peerId, target.roomId) : undefined
    if (localTarget) {
      const theirs = this.addEnd({ id, roomId: target.roomId, opener: false, local: localTarget, declared: bytes })
      mine.other = { kind: 'local', end: theirs }
      theirs.other = { kind: 'local', end: mine }
      localTarget.opened({ id, from: from.peerId, bytes, chunkBytes: rules.chunkBytes, window: rules.window })
    } else if (this.deps.bus && target.instance !== this.deps.instance) {
      mine.other = { kind: 'remote', instance: target.instance }
      this.send(target.instance, { type: 'open', id, open: { from: from.peerId, fromInstance: this.deps.instance, to: target.peerId, roomId: target.roomId, bytes } })
    } else {
      this.remove(mine)
      throw new AppError('conflict', 'That device is not connected right now; try again when it is back.')
    }
    return { id }
  }

  /** A message from `from` on channel `id`; `reply` once the far end consumed it (or with why not). */
  data(from: RelayEndpoint, id: string, data: Buffer | string, reply: (err: AppError | null) => void): void {
    const end = this.endOf(id, from.conn)
    if (!end) return reply(closedError())
    const { rules } = this.deps
    const size = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength
    if (size > rules.chunkBytes || end.sent + size > end.declared || end.inFlight.size >= rules.window) {
      reply(new AppError('relay_closed', size > rules.chunkBytes ? `Relay messages are limited to ${rules.chunkBytes} bytes.` : end.inFlight.size >= rules.window ? `At most ${rules.window} relay messages may wait for their acknowledgement.` : 'More bytes than this relay channel was opened for.'))
      return this.closeEnd(end, 'limit', { tellLocal: true, tellOther: 'limit' })
    }
    const seq = end.nextSeq++
    end.sent += size
    end.inFlight.set(seq, { reply, at: this.now() })
    const other = end.other
    if (other.kind === 'local') {
      other.end.received += size
      other.end.local.deliver({ id, data }, (err) => {
        if (err) this.closeEnd(end, 'stalled', { tellLocal: true, tellOther: 'stalled' })
        else this.settle(end, seq)
      })
    } else {
      this.send(other.instance, { type: 'data', id, seq, data })
    }
  }

  /** `from` closes its channel `id`: the other end is told (`closed`). */
  close(from: RelayEndpoint, id: string): boolean {
    const end = this.endOf(id, from.conn)
    if (!end) return false
    this.closeEnd(end, 'closed', { tellLocal: false, tellOther: 'closed' })
    return true
  }

  /** The socket is gone (or left `roomId`): its channels close, the other ends are told `peer_gone`. */
  drop(conn: string, roomId?: string): void {
    for (const ends of [...this.channels.values()]) {
      for (const e of ends) if (e.local.conn === conn && (roomId === undefined || e.roomId === roomId)) this.closeEnd(e, 'peer_gone', { tellLocal: roomId !== undefined, tellOther: 'peer_gone' })
    }
  }

  /** Shutting down: every channel closes (`server`). */
  stop(): void {
    clearInterval(this.sweeper)
    for (const ends of [...this.channels.values()]) for (const e of ends) this.closeEnd(e, 'server', { tellLocal: true, tellOther: 'server' })
  }

  private addEnd(e: Pick<End, 'id' | 'roomId' | 'opener' | 'local' | 'declared'>): End {
    const end: End = { ...e, other: { kind: 'remote', instance: '' }, sent: 0, received: 0, nextSeq: 0, inFlight: new Map(), openedAt: this.now() }
    const list = this.channels.get(e.id) ?? []
    list.push(end)
    this.channels.set(e.id, list)
    this.ends++
    return end
  }

  private remove(end: End): boolean {
    const list = this.channels.get(end.id)
    const i = list?.indexOf(end) ?? -1
    if (!list || i < 0) return false
    list.splice(i, 1)
    if (list.length === 0) this.channels.delete(end.id)
    this.ends--
    return true
  }

  private endOf(id: string, conn: string): End | undefined {
    return this.channels.get(id)?.find((e) => e.local.conn === conn)
  }

  private remoteEnd(id: string): End | undefined {
    return this.channels.get(id)?.find((e) => e.other.kind === 'remote')
  }

  private settle(end: End, seq: number) {
    const pending = end.inFlight.get(seq)
    if (!pending) return
    end.inFlight.delete(seq)
    pending.reply(null)
  }

  private closeEnd(end: End, reason: RelayCloseReason, how: { tellLocal: boolean; tellOther: RelayCloseReason | null }) {
    if (!this.remove(end)) return
    for (const p of end.inFlight.values()) p.reply(closedError())
    end.inFlight.clear()
    if (how.tellLocal) end.local.closed({ id: end.id, reason })
    if (how.tellOther) {
      if (end.other.kind === 'local') this.closeEnd(end.other.end, how.tellOther, { tellLocal: true, tellOther: null })
      else if (end.other.instance) this.send(end.other.instance, { type: 'close', id: end.id, reason: how.tellOther })
    }
    this.deps.finished({ id: end.id, roomId: end.roomId, conn: end.local.conn, opener: end.opener, declared: end.declared, sent: end.sent, received: end.received, ms: this.now() - end.openedAt, reason })
  }

  private onFrame(frame: RelayFrame) {
    switch (frame.type) {
      case 'open': {
        const { open } = frame
        const endpoint = this.deps.local(open.to, open.roomId)
        if (!endpoint || this.ends >= this.deps.rules.maxEnds) return this.send(open.fromInstance, { type: 'close', id: frame.id, reason: endpoint ? 'server' : 'peer_gone' })
        const end = this.addEnd({ id: frame.id, roomId: open.roomId, opener: false, local: endpoint, declared: open.bytes })
        end.other = { kind: 'remote', instance: open.fromInstance }
        endpoint.opened({ id: frame.id, from: open.from, bytes: open.bytes, chunkBytes: this.deps.rules.chunkBytes, window: this.deps.rules.window })
        return
      }
      case 'data': {
        const end = this.remoteEnd(frame.id)
        if (!end || end.other.kind !== 'remote') return
        // Bounded by the sending instance's window.
        const { instance } = end.other
        end.received += typeof frame.data === 'string' ? Buffer.byteLength(frame.data) : frame.data.byteLength
        end.local.deliver({ id: frame.id, data: frame.data }, (err) => {
          if (err) this.closeEnd(end, 'stalled', { tellLocal: true, tellOther: 'stalled' })
          else this.send(instance, { type: 'ack', id: frame.id, seq: frame.seq })
        })
        return
      }
      case 'ack': {
        const end = this.remoteEnd(frame.id)
        if (end) this.settle(end, frame.seq)
        return
      }
      case 'close': {
        const end = this.remoteEnd(frame.id)
        if (end) this.closeEnd(end, asReason(frame.reason), { tellLocal: true, tellOther: null })
        return
      }
    }
  }

  private send(instance: string, frame: RelayFrame) {
    this.deps.bus?.send(instance, encodeFrame(frame))
  }

  private sweep() {
    const limit = this.now() - this.deps.rules.stallMs
    for (const ends of [...this.channels.values()]) {
      for (const e of ends) {
        const oldest = e.inFlight.values().next().value as Pending | undefined
        if (oldest && oldest.at < limit) this.closeEnd(e, 'stalled', { tellLocal: true, tellOther: 'stalled' })
      }
    }
  }
}

const REASONS: readonly RelayCloseReason[] = ['closed', 'peer_gone', 'stalled', 'limit', 'server']
const asReason = (r: string): RelayCloseReason => (REASONS.includes(r as RelayCloseReason) ? (r as RelayCloseReason) : 'server')
