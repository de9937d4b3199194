import {
  ROOMS_NAMESPACE,
  type Ack,
  type ClientToServer,
  type ControlMessage,
  type IceServersResponse,
  type OfferedFile,
  type Peer,
  type RoomInfo,
  type ServerToClient,
  type TransferStatus as ReportStatus,
} from '@sharesync/protocol'
import { io, type Socket } from 'socket.io-client'
import { PeerLink, type LinkState } from './peer-link'
import { ProgressMeter, type Progress } from './progress'
import { FilesReceiver } from './receive-files'
import { sendFiles, TransferAborted } from './send-files'
import { canStreamToDisk, clearOldReceivedFiles, openSink, pickDirectory, type ForcedSink, type SinkKind } from './sinks'

/**
 * A person's presence in one room: the signaling socket, one PeerLink per other member, and every
 * transfer in and out. Free of React: the UI subscribes to snapshots; tests and benches drive it alone.
 */

export const TURN_HINT = 'Could not connect directly to this device (a firewall or a different network may block it). Your admin can configure a TURN server (TURN_URLS/TURN_SECRET).'

export interface PeerView extends Peer {
  link: LinkState
}

export type TransferPhase = 'offered' | 'waiting' | 'active' | 'finishing' | 'completed' | 'declined' | 'cancelled' | 'failed'

export interface ReceivedFile {
  name: string
  size: number
  /** a blob: URL to save it from; empty when it already went to the browser's downloads */
  url: string
  verified: boolean
  sink: SinkKind
}

export interface TransferView {
  id: string
  direction: 'send' | 'receive'
  peerId: string
  peerName: string
  files: OfferedFile[]
  progress: Progress
  phase: TransferPhase
  message: string | null
  received: ReceivedFile[]
  /** receiver only: this browser can only keep such big files in memory (plain-http origins) */
  memoryWarning: boolean
}

export interface SessionView {
  phase: 'connecting' | 'ready' | 'error' | 'left'
  room: RoomInfo | null
  self: Peer | null
  peers: PeerView[]
  transfers: TransferView[]
  error: string | null
  serverConnected: boolean
}

interface Transfer extends TransferView {
  meter: ProgressMeter
  startedAt: number
  outgoing?: File[]
  abort?: AbortController
  channel?: RTCDataChannel
  receiver?: FilesReceiver
  reported?: boolean
}

export type JoinTarget = { create: true } | { code: string } | { secret: string }

export interface SessionOptions {
  /** origin of the app (defaults to the page's) */
  baseUrl?: string
  name?: string
  /** where received files go, instead of the best available (diagnostics, tests) */
  forceSink?: ForcedSink
}

type RoomSocket = Socket<ServerToClient, ClientToServer>

export class RoomSession {
  private readonly socket: RoomSocket
  private readonly links = new Map<string, PeerLink>()
  private readonly peers = new Map<string, Peer>()
  private readonly transfers = new Map<string, Transfer>()
  private readonly listeners = new Set<() => void>()
  private iceServers: RTCIceServer[] = []
  private view: SessionView
  private notifyTimer: ReturnType<typeof setTimeout> | null = null
  private joined = false

  constructor(
    private readonly target: JoinTarget,
    private readonly opts: SessionOptions = {},
  ) {
    this.view = { phase: 'connecting', room: null, self: null, peers: [], transfers: [], error: null, serverConnected: false }
    // WebSocket first (no polling round trips while signaling); long-polling when a proxy blocks it.
    this.socket = io(`${opts.baseUrl ?? ''}${ROOMS_NAMESPACE}`, { transports: ['websocket', 'polling'], tryAllTransports: true })
    this.socket.on('connect', () => {
      this.view = { ...this.view, serverConnected: true }
      void this.enter()
    })
    this.socket.on('disconnect', () => {
      this.view = { ...this.view, serverConnected: false }
      this.notify(true)
    })
    this.socket.on('connect_error', () => {
      if (!this.joined) this.setError('Could not reach the server. Check your connection and try again.')
    })
    this.socket.on('peer:joined', ({ peer }) => this.addPeer(peer))
    this.socket.on('peer:left', ({ peerId }) => this.removePeer(peerId, 'left the room'))
    this.socket.on('signal', ({ from, data }) => this.onSignal(from, data))
    this.socket.on('room:closed', () => {
      this.closeAll('The room was closed.')
      this.view = { ...this.view, phase: 'left' }
      this.notify(true)
    })
  }

  // ---- subscription (useSyncExternalStore-friendly) ----

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  getSnapshot = (): SessionView => this.view

  // ---- actions ----

  /** Offers `files` to each recipient; each recipient gets its own transfer and channel. */
  sendFiles(files: File[], recipients: string[]): string[] {
    const offered: OfferedFile[] = files.map((f, i) => ({ id: String(i), name: f.name || `file-${i + 1}`, size: f.size, type: f.type || 'application/octet-stream' }))
    const ids: string[] = []
    for (const peerId of recipients) {
      const link = this.links.get(peerId)
      const peer = this.peers.get(peerId)
      if (!link || !peer) continue
      const t = this.newTransfer('send', peer, offered)
      t.outgoing = files
      t.phase = 'waiting'
      ids.push(t.id)
      // Every outgoing transfer is announced once and reported once (live "in progress" counter).
      this.socket.emit('transfer:started', { id: t.id, bytes: t.progress.total, files: offered.length }, () => undefined)
      if (link.state === 'failed') this.finish(t, 'failed', TURN_HINT)
      else if (link.state === 'connected') link.send({ t: 'offer', id: t.id, files: offered })
      // Still connecting: the offer goes out when the link opens (see onLinkState).
    }
    this.notify(true)
    return ids
  }

  async accept(id: string, opts: { pickLocation?: boolean } = {}): Promise<void> {
    const t = this.transfers.get(id)
    if (!t || t.direction !== 'receive' || t.phase !== 'offered') return
    const picked = opts.pickLocation ? await pickDirectory() : null
    if (opts.pickLocation && !picked) return // dismissed: still offered
    const link = this.links.get(t.peerId)
    if (!link) return this.finish(t, 'failed', `${t.peerName} is no longer in the room.`)
    t.phase = 'active'
    t.startedAt = performance.now()
    t.receiver = new FilesReceiver(t.files, {
      openSink: (file, index) => openSink(file, `${t.id}-${index}`, picked, this.opts.forceSink),
      progress: (bytes) => {
        t.meter.update(bytes)
        this.notify()
      },
      fileDone: (index, file, verified, sink) => {
        const meta = t.files[index]!
        t.received = [...t.received, { name: meta.name, size: meta.size, url: file ? URL.createObjectURL(file) : '', verified, sink }]
        link.send({ t: 'verified', id: t.id, fileId: meta.id, ok: verified })
        if (!verified) {
          link.send({ t: 'cancel', id: t.id, reason: 'damaged' })
          this.finish(t, 'failed', `${meta.name} arrived damaged (its SHA-256 does not match). Please send it again.`)
        }
        this.notify(true)
      },
      allDone: () => {
        if (t.phase !== 'active') return
        link.send({ t: 'complete', id: t.id })
        t.meter.update(t.meter.total)
        this.finish(t, 'completed', null)
      },
      failed: (reason) => {
        link.send({ t: 'cancel', id: t.id, reason: 'receiver error' })
        this.finish(t, 'failed', `Receiving stopped: ${reason}.`)
      },
    })
    link.send({ t: 'accept', id })
    this.notify(true)
  }

  decline(id: string): void {
    const t = this.transfers.get(id)
    if (!t || t.phase !== 'offered') return
    this.links.get(t.peerId)?.send({ t: 'decline', id })
    this.finish(t, 'declined', 'You declined.')
  }

  cancel(id: string): void {
    const t = this.transfers.get(id)
    if (!t || isFinal(t.phase)) return
    this.links.get(t.peerId)?.send({ t: 'cancel', id })
    this.finish(t, 'cancelled', 'You cancelled.')
  }

  /** Forgets a finished transfer and frees its received files. */
  dismiss(id: string): void {
    const t = this.transfers.get(id)
    if (!t || !isFinal(t.phase)) return
    for (const f of t.received) if (f.url) URL.revokeObjectURL(f.url)
    this.transfers.delete(id)
    this.notify(true)
  }

  leave(): void {
    this.closeAll('You left the room.')
    this.socket.emit('room:leave', {}, () => undefined)
    this.socket.disconnect()
    this.view = { ...this.view, phase: 'left' }
    this.notify(true)
  }

  // ---- room ----

  private async enter() {
    if (!this.joined) {
      this.iceServers = await fetchIceServers(this.opts.baseUrl ?? '')
      await clearOldReceivedFiles()
    }
    const name = this.opts.name?.trim() || undefined
    // After a reconnect, the room is re-entered by its link: the code may have expired meanwhile.
    const target: JoinTarget = this.view.room ? { secret: this.view.room.secret } : this.target
    let res: Ack<{ room: RoomInfo; self: Peer; peers?: Peer[] }>
    try {
      res =
        'create' in target
          ? await this.socket.timeout(10_000).emitWithAck('room:create', { name })
          : await this.socket.timeout(10_000).emitWithAck('room:join', 'code' in target ? { code: target.code, name } : { secret: target.secret, name })
    } catch {
      return this.setError('The server did not answer. Please try again.')
    }
    if (!res.ok) return this.setError(res.error.message)
    if (this.joined) this.closeAll('The connection to the server was lost.')
    this.joined = true
    this.view = { ...this.view, phase: 'ready', room: res.room, self: res.self, error: null }
    for (const peer of res.peers ?? []) this.addPeer(peer)
    this.notify(true)
  }

  private addPeer(peer: Peer) {
    const self = this.view.self
    if (!self || peer.peerId === self.peerId) return
    this.peers.set(peer.peerId, peer)
    if (this.links.has(peer.peerId)) {
      // The link was opened by an early signal: now the peer's real name is known.
      this.notify(true)
      return
    }
    const link = new PeerLink(
      peer.peerId,
      self.peerId < peer.peerId,
      this.iceServers,
      (data) => this.socket.emit('signal', { to: peer.peerId, data }, () => undefined),
      {
        state: (state) => this.onLinkState(peer.peerId, state),
        control: (msg) => this.onControl(peer.peerId, msg),
        channel: (dc) => this.onChannel(peer.peerId, dc),
      },
    )
    this.links.set(peer.peerId, link)
    link.start().catch(() => this.onLinkState(peer.peerId, 'failed'))
    this.notify(true)
  }

  private removePeer(peerId: string, why: string) {
    const peer = this.peers.get(peerId)
    const link = this.links.get(peerId)
    this.links.delete(peerId)
    this.peers.delete(peerId)
    link?.close()
    for (const t of this.transfers.values()) {
      if (t.peerId === peerId && !isFinal(t.phase)) this.finish(t, 'failed', `${peer?.name ?? 'The other device'} ${why}; the transfer stopped.`)
    }
    this.notify(true)
  }

  private onSignal(from: string, data: unknown) {
    if (!this.links.has(from)) {
      // A signal can overtake its peer:joined; the offer side is always the smaller id.
      if (!this.view.self || from > this.view.self.peerId) return
      this.addPeer({ peerId: from, name: 'Device', device: '' })
    }
    this.links.get(from)!.handleSignal(data).catch(() => this.onLinkState(from, 'failed'))
  }

  private onLinkState(peerId: string, state: LinkState) {
    for (const t of this.transfers.values()) {
      if (t.peerId !== peerId) continue
      if (state === 'connected' && t.direction === 'send' && t.phase === 'waiting') {
        this.links.get(peerId)?.send({ t: 'offer', id: t.id, files: t.files })
      }
      if (state === 'failed' && !isFinal(t.phase)) {
        this.finish(t, 'failed', t.phase === 'waiting' ? TURN_HINT : `The connection to ${t.peerName} was lost; the transfer stopped.`)
      }
    }
    this.notify(true)
  }

  // ---- transfers ----

  private onControl(peerId: string, msg: ControlMessage) {
    const peer = this.peers.get(peerId)
    if (!peer) return
    if (msg.t === 'offer') {
      if (this.transfers.has(msg.id)) return
      const t = this.newTransfer('receive', peer, msg.files, msg.id)
      t.phase = 'offered'
      t.memoryWarning = msg.files.some((f) => !canStreamToDisk(f.size))
      this.notify(true)
      return
    }
    const t = this.transfers.get(msg.id)
    if (!t || t.peerId !== peerId || isFinal(t.phase)) return
    switch (msg.t) {
      case 'accept':
        if (t.direction === 'send' && t.phase === 'waiting') void this.runSend(t)
        break
      case 'decline':
        if (t.direction === 'send') this.finish(t, 'declined', `${t.peerName} declined.`)
        break
      case 'cancel':
        this.finish(t, msg.reason === 'damaged' || msg.reason === 'receiver error' ? 'failed' : 'cancelled', msg.reason === 'damaged' ? `${t.peerName} received a damaged file.` : `${t.peerName} cancelled.`)
        break
      case 'verified':
        if (t.direction === 'send' && !msg.ok) this.finish(t, 'failed', `${t.peerName} received a damaged file.`)
        break
      case 'complete':
        if (t.direction === 'send') {
          t.meter.update(t.meter.total)
          this.finish(t, 'completed', null)
        }
        break
    }
    this.notify(true)
  }

  private onChannel(peerId: string, dc: RTCDataChannel) {
    const id = dc.label.startsWith('x:') ? dc.label.slice(2) : ''
    const t = this.transfers.get(id)
    if (!t || t.peerId !== peerId || t.direction !== 'receive' || t.phase !== 'active' || !t.receiver) {
      dc.close()
      return
    }
    t.channel = dc
    t.receiver.attach(dc)
    dc.addEventListener('close', () => {
      if (!isFinal(t.phase)) this.finish(t, 'failed', `The connection to ${t.peerName} was lost; the transfer stopped.`)
    })
  }

  private async runSend(t: Transfer) {
    const link = this.links.get(t.peerId)
    if (!link || !t.outgoing) return
    t.phase = 'active'
    t.startedAt = performance.now()
    t.abort = new AbortController()
    const dc = link.openChannel(`x:${t.id}`)
    t.channel = dc
    this.notify(true)
    try {
      await sendFiles(
        dc,
        t.outgoing.map((file, i) => ({ id: t.files[i]!.id, file })),
        link.chunkSize(),
        {
          progress: (bytes) => {
            t.meter.update(bytes)
            this.notify()
          },
        },
        t.abort.signal,
      )
      if (t.phase === 'active') {
        t.phase = 'finishing'
        t.message = `Waiting for ${t.peerName} to check the files…`
      }
    } catch (err) {
      if (!isFinal(t.phase)) this.finish(t, 'failed', err instanceof TransferAborted ? `The connection to ${t.peerName} was lost; the transfer stopped.` : 'Sending failed: the file could not be read.')
    }
    this.notify(true)
  }

  private newTransfer(direction: 'send' | 'receive', peer: Peer, files: OfferedFile[], id = randomTransferId()): Transfer {
    const total = files.reduce((s, f) => s + f.size, 0)
    const meter = new ProgressMeter(total)
    const t: Transfer = {
      id,
      direction,
      peerId: peer.peerId,
      peerName: peer.name,
      files,
      progress: meter.snapshot(),
      phase: 'waiting',
      message: null,
      received: [],
      memoryWarning: false,
      meter,
      startedAt: performance.now(),
    }
    this.transfers.set(id, t)
    return t
  }

  private finish(t: Transfer, phase: TransferPhase, message: string | null) {
    if (isFinal(t.phase)) return
    t.phase = phase
    t.message = message
    t.abort?.abort()
    if (phase !== 'completed') {
      void t.receiver?.abort()
      if (t.channel && t.channel.readyState !== 'closed') t.channel.close()
    } else if (t.direction === 'send' && t.channel) {
      t.channel.close()
    }
    if (t.direction === 'send' && !t.reported) this.report(t)
    this.notify(true)
  }

  /** Stats for the admin dashboard: sizes, counts and timing only. */
  private report(t: Transfer) {
    t.reported = true
    const status: ReportStatus = t.phase === 'completed' ? 'completed' : t.phase === 'declined' ? 'declined' : t.phase === 'cancelled' ? 'cancelled' : 'failed'
    const snapshot = t.meter.snapshot()
    const files = t.phase === 'completed' ? t.files.length : 0
    this.socket.emit('transfer:report', { id: t.id, bytes: Math.min(Math.round(snapshot.bytes), snapshot.total), files, ms: Math.max(0, Math.round(performance.now() - t.startedAt)), status }, () => undefined)
  }

  private closeAll(why: string) {
    for (const t of this.transfers.values()) if (!isFinal(t.phase)) this.finish(t, 'failed', why)
    for (const peerId of [...this.links.keys()]) this.removePeer(peerId, 'left the room')
  }

  private setError(message: string) {
    this.view = { ...this.view, phase: this.joined ? this.view.phase : 'error', error: message }
    this.notify(true)
  }

  /** Snapshots for the UI: status changes at once, progress at most ~8 times a second. */
  private notify(now = false) {
    if (!now) {
      this.notifyTimer ??= setTimeout(() => this.notify(true), 120)
      return
    }
    if (this.notifyTimer) clearTimeout(this.notifyTimer)
    this.notifyTimer = null
    this.view = {
      ...this.view,
      peers: [...this.peers.values()].map((p) => ({ ...p, link: this.links.get(p.peerId)?.state ?? 'closed' })),
      transfers: [...this.transfers.values()].map((t) => ({
        id: t.id,
        direction: t.direction,
        peerId: t.peerId,
        peerName: t.peerName,
        files: t.files,
        progress: t.meter.snapshot(),
        phase: t.phase,
        message: t.message,
        received: t.received,
        memoryWarning: t.memoryWarning,
      })),
    }
    for (const fn of this.listeners) fn()
  }
}

function isFinal(phase: TransferPhase): boolean {
  return phase === 'completed' || phase === 'declined' || phase === 'cancelled' || phase === 'failed'
}

function randomTransferId(): string {
  const buf = new Uint8Array(12)
  crypto.getRandomValues(buf)
  return Array.from(buf, (b) => b.toString(16).padStart(2, '0')).join('')
}

async function fetchIceServers(baseUrl: string): Promise<RTCIceServer[]> {
  try {
    const res = await fetch(`${baseUrl}/api/rtc/ice-servers`)
    if (!res.ok) return []
    const body = (await res.json()) as IceServersResponse
    return body.iceServers.map((s) => ({ urls: s.urls, username: s.username, credential: s.credential }))
  } catch {
    // Without ICE servers, host candidates still connect devices on the same network.
    return []
  }
}
