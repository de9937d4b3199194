import { i18n } from '../../../i18n'
import type { IceServersResponse, PeerFile, PeerMessage, RoomInfo, TransferStatus as ReportStatus } from '@sharesync/protocol'
import { forgetTransfer, savedTransferIds, savedTransfers } from './checkpoints'
import { PeerLink } from './peer-link'
import type { Pipe } from './pipe'
import { PeerLinks } from './peer-links'
import type { JoinTarget, PeerFactory, RoomFilesPort, SignalingPort } from './ports'
import type { Progress } from './progress'
import { initialRoom, roomTransition, type LinkPath, type RoomEvent, type RoomState } from './room-machine'
import { SocketSignaling } from './signaling'
import { clearOldReceivedFiles, opfsFile, pickDirectory, type ForcedSink } from './sinks'
import { bytesBefore, isFinal, newIncoming, newOutgoing, restored, transition, type Effect, type TransferEvent, type TransferState } from './transfer-machine'
import { unreachableMessage } from './connection-hint'
import { TransferIo, newLive, type Live, type ReceivedFile } from './transfer-io'

/**
 * A person's presence in one room. It wires the ports (signaling, peer links, sinks) to the two
 * pure state machines (room-machine, transfer-machine): the peer registry (peer-links.ts) keeps one
 * link per peer, the transfer I/O (transfer-io.ts) carries out the transfers' effects, and React
 * only renders its snapshots. Tests and benches can drive it alone, with other ports.
 */

export type { JoinTarget } from './ports'
export type { LinkPath, LinkState } from './room-machine'
export type { TransferPhase } from './transfer-machine'

export type { ReceivedFile } from './transfer-io'

export interface TransferView extends TransferState {
  progress: Progress
  received: ReceivedFile[]
  /** receiver only: this browser can only keep such big files in memory (plain-http origins) */
  memoryWarning: boolean
  path: LinkPath | null
}

export interface SessionView extends RoomState {
  transfers: TransferView[]
}

export interface SessionOptions {
  /** origin of the app (defaults to the page's) */
  baseUrl?: string
  name?: string
  /** where received files go, instead of the best available (diagnostics, tests) */
  forceSink?: ForcedSink
  /** test and diagnostics switches: a slow sender or a slow disk, in bytes per second */
  sendBytesPerSecond?: number
  sinkBytesPerSecond?: number
  signaling?: SignalingPort
  peers?: PeerFactory
  /** nearby only: this device does not show itself to the others on its network */
  hidden?: boolean
}

const defaultPeers: PeerFactory = (remoteId, initiator, iceServers, signal, events) => new PeerLink(remoteId, initiator, iceServers, signal, events)

export class RoomSession {
  private readonly signaling: SignalingPort
  private readonly links: PeerLinks
  private readonly transfers = new Map<string, Live>()
  private readonly listeners = new Set<() => void>()
  private readonly io: TransferIo
  private room: RoomState = initialRoom
  private iceRefresh: ReturnType<typeof setTimeout> | null = null
  private hasLeft = false
  private view: SessionView = { ...initialRoom, transfers: [] }
  private notifyTimer: ReturnType<typeof setTimeout> | null = null
  private restoredFor: string | null = null

  /** Files left in this room, when the signaling has a server behind it. */
  get files(): RoomFilesPort | null {
    return this.signaling.files ?? null
  }

  constructor(
    private readonly target: JoinTarget,
    private opts: SessionOptions = {},
  ) {
    this.signaling = opts.signaling ?? new SocketSignaling(opts.baseUrl)
    this.io = new TransferIo(
      {
        dispatch: (t, e) => this.dispatch(t, e),
        notify: () => this.notify(),
        link: (peerId) => this.links.get(peerId),
        isConnected: (peerId) => this.links.isConnected(peerId),
        roomSecret: () => this.room.room?.secret ?? null,
      },
      { forceSink: opts.forceSink, sendBytesPerSecond: opts.sendBytesPerSecond, sinkBytesPerSecond: opts.sinkBytesPerSecond },
    )
    this.links = new PeerLinks(this.signaling, opts.peers ?? defaultPeers, {
      self: () => this.room.self,
      peers: () => this.room.peers,
      relayOff: () => this.room.relayOff,
      roomEvent: (e) => this.roomEvent(e),
      linkState: (peerId, state) => {
        for (const t of this.transfers.values()) {
          if (t.state.peerId !== peerId) continue
          if (state === 'connected') this.dispatch(t, { type: 'link-up' })
          if (state === 'failed') this.dispatch(t, { type: 'link-down', why: 'lost' })
        }
      },
      linkGone: (peerId, why) => {
        for (const t of this.transfers.values()) if (t.state.peerId === peerId) this.dispatch(t, { type: 'link-down', why })
      },
      message: (peerId, msg) => this.onMessage(peerId, msg),
      channel: (peerId, pipe) => this.onChannel(peerId, pipe),
    })
    this.signaling.on({
      up: (recovered) => {
        this.roomEvent({ type: 'socket-up' })
        if (!recovered || !this.room.room) void this.enter()
      },
      down: () => this.roomEvent({ type: 'socket-down' }),
      unreachable: () => {
        if (this.room.room) return
        void unreachableMessage(this.opts.baseUrl).then((message) => {
          if (!this.room.room) this.roomEvent({ type: 'join-failed', message })
        })
      },
      peerJoined: (peer) => this.links.add(peer),
      peerBack: (peer) => {
        this.roomEvent({ type: 'peer-joined', peer: { ...peer, reconnecting: false } })
        this.links.add(peer)
      },
      peerReconnecting: (peerId) => this.roomEvent({ type: 'peer-reconnecting', peerId }),
      peerLeft: (peerId) => this.links.remove(peerId, 'left'),
      signal: (from, data) => this.links.signal(from, data),
      relayOpened: (opened) => this.links.relayOpened(opened),
      relayData: (id, data, ack) => {
        this.links.relayData(id, data)
        // Consumed: the receiver's own credit ('ack' frames) bounds what piles up behind it.
        ack()
      },
      relayClosed: (id) => this.links.relayClosed(id),
      roomClosed: () => {
        this.closeAll()
        this.roomEvent({ type: 'room-closed' })
      },
    })
    if (typeof window !== 'undefined') window.addEventListener('pagehide', this.pageHidden)
  }

  // ---- subscription (useSyncExternalStore-friendly) ----

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  getSnapshot = (): SessionView => this.view

  // ---- actions ----

  /**
   * Offers `files` to each recipient; each recipient gets its own transfer and channel. `thumbs`:
   * the pictures' thumbnails, by file index (see thumbnails.ts), shown in the receiver's offer.
   */
  sendFiles(files: File[], recipients: string[], thumbs: readonly (string | undefined)[] = []): string[] {
    const offered: PeerFile[] = files.map((f, i) => ({
      id: String(i),
      name: f.name || `file-${i + 1}`,
      size: f.size,
      type: f.type || 'application/octet-stream',
      lastModified: Math.max(0, Math.floor(f.lastModified || 0)),
      ...(thumbs[i] ? { thumb: thumbs[i] } : {}),
    }))
    const ids: string[] = []
    for (const peerId of recipients) {
      const peer = this.room.peers.find((p) => p.peerId === peerId)
      const link = this.links.get(peerId)
      if (!peer || !link) continue
      const t = this.track(newOutgoing(randomTransferId(), peerId, peer.name, offered))
      t.outgoing = files
      ids.push(t.state.id)
      this.signaling.transferStarted({ id: t.state.id, bytes: t.meter.total, files: offered.length })
      if (link.state === 'connected') link.send({ t: 'offer', id: t.state.id, files: offered })
      // Still connecting: the offer goes out when the link is up (the machine's 'link-up').
    }
    this.notify(true)
    return ids
  }

  /** After a reload, the sender picks the same files again to go on. */
  resumeWith(id: string, files: File[]): boolean {
    const t = this.transfers.get(id)
    if (!t || t.state.direction !== 'send' || !t.state.needsFiles) return false
    const same =
      files.length === t.state.files.length &&
      t.state.files.every((f, i) => files[i]!.name === f.name && files[i]!.size === f.size && (f.lastModified === undefined || Math.floor(files[i]!.lastModified) === f.lastModified))
    if (!same) {
      t.state = { ...t.state, message: i18n.t('engine.notSameFiles') }
      this.notify(true)
      return false
    }
    t.outgoing = files
    this.dispatch(t, { type: 'files-picked-again' })
    return true
  }

  async accept(id: string, opts: { pickLocation?: boolean } = {}): Promise<void> {
    const t = this.transfers.get(id)
    if (!t) return
    this.dispatch(t, { type: 'accept-clicked', pick: Boolean(opts.pickLocation) })
    if (!opts.pickLocation || t.state.phase !== 'picking') return
    const picked = await pickDirectory()
    t.picked = picked
    // The machine re-checks the phase: a cancel while the picker was open stays a cancel.
    this.dispatch(t, { type: 'picker-closed', picked: picked !== null })
  }

  decline(id: string): void {
    const t = this.transfers.get(id)
    if (t) this.dispatch(t, { type: 'decline-clicked' })
  }

  cancel(id: string): void {
    const t = this.transfers.get(id)
    if (t) this.dispatch(t, { type: 'cancel-clicked' })
  }

  /** Forgets a finished transfer and frees its received files. */
  dismiss(id: string): void {
    const t = this.transfers.get(id)
    if (!t || !isFinal(t.state.phase)) return
    for (const f of t.received) this.io.revoke(f.url)
    this.transfers.delete(id)
    this.notify(true)
  }

  /**
   * The page is being closed, reloaded or navigated away from (nothing unmounts then; 'pagehide' is
   * the last moment it can speak): the peers hear it at once.
   */
  private readonly pageHidden = () => {
    if (!this.hasLeft) this.links.sayBye()
  }

  leave(): void {
    this.hasLeft = true
    if (typeof window !== 'undefined') window.removeEventListener('pagehide', this.pageHidden)
    if (this.iceRefresh) clearTimeout(this.iceRefresh)
    for (const t of this.transfers.values()) this.dispatch(t, { type: 'cancel-clicked' })
    this.closeAll()
    this.io.revokeAll()
    this.signaling.leave()
    this.roomEvent({ type: 'left' })
  }

  // ---- room ----

  /** TURN credentials live minutes: new ones are fetched before they expire, for links made later. */
  private async loadIceServers() {
    const { servers, ttl } = await fetchIceServers(this.opts.baseUrl ?? '')
    this.links.iceServers = servers
    if (this.iceRefresh) clearTimeout(this.iceRefresh)
    if (ttl > 0 && !this.hasLeft) this.iceRefresh = setTimeout(() => void this.loadIceServers(), Math.max(10, ttl * 0.8) * 1000)
  }

  private async enter() {
    if ('nearby' in this.target) return this.enterNearby()
    if (!this.room.room) {
      await this.loadIceServers()
      await clearOldReceivedFiles(await savedTransferIds())
    }
    const name = this.opts.name?.trim() || undefined
    // After a reconnect, the room is re-entered by its link: the code may have expired meanwhile.
    const target = this.room.room ? { secret: this.room.room.secret } : (this.target as Exclude<JoinTarget, { nearby: true }>)
    let res: Awaited<ReturnType<SignalingPort['enter']>>
    try {
      res = await this.signaling.enter(target, name)
    } catch {
      return this.roomEvent({ type: 'join-failed', message: i18n.t('engine.noAnswer') })
    }
    if (!res.ok) return this.roomEvent({ type: 'join-failed', message: res.error.message })
    const previousSelf = this.room.self?.peerId
    this.roomEvent({ type: 'joined', room: res.room, self: res.self, peers: res.peers ?? [] })
    // A new identity (the server did not recognise this device): links to the old one are dead.
    if (previousSelf && previousSelf !== res.self.peerId) this.links.removeAll('lost')
    for (const peer of res.peers ?? []) this.links.add(peer)
    await this.restore(res.room)
  }

  /** The devices on this network, without a code (unless this device is hidden). */
  private async enterNearby() {
    if (this.opts.hidden) return this.roomEvent({ type: 'nearby-off' })
    if (!this.links.iceServers.length) this.links.iceServers = (await fetchIceServers(this.opts.baseUrl ?? '')).servers
    const res = await this.signaling.joinNearby(this.opts.name?.trim() || undefined)
    if (!res) return this.roomEvent({ type: 'nearby-off' })
    const previousSelf = this.room.self?.peerId
    this.roomEvent({ type: 'nearby-joined', nearby: res.nearby, self: res.self, peers: res.peers })
    if (previousSelf && previousSelf !== res.self.peerId) this.links.removeAll('lost')
    for (const peer of res.peers) this.links.add(peer)
  }

  /** Hides this device from (or shows it again to) the nearby group. */
  setHidden(hidden: boolean): void {
    if (!('nearby' in this.target)) return
    this.opts = { ...this.opts, hidden }
    if (hidden) {
      this.signaling.leaveNearby()
      this.links.removeAll('left')
      this.roomEvent({ type: 'nearby-off' })
    } else void this.enterNearby()
  }

  /** Transfers of this room saved before a reload come back, interrupted, until their peer is back. */
  private async restore(room: RoomInfo) {
    if (this.restoredFor === room.secret) return
    this.restoredFor = room.secret
    for (const saved of await savedTransfers(room.secret)) {
      if (this.transfers.has(saved.id)) continue
      const t = this.track(restored(saved))
      t.checkpoint = saved.checkpoint
      if (saved.direction === 'receive') {
        for (let i = 0; i < saved.at.file && i < saved.files.length; i++) {
          const meta = saved.files[i]!
          const file = await opfsFile(saved.id, i, meta)
          this.io.addReceived(t, meta, file, true, 'opfs')
        }
        t.meter.update(bytesBefore(saved.files, saved.at))
      }
      if (this.links.isConnected(saved.peerId)) this.dispatch(t, { type: 'link-up' })
    }
    this.notify(true)
  }

  private roomEvent(e: RoomEvent) {
    this.room = roomTransition(this.room, e)
    this.notify(true)
  }

  // ---- transfers ----

  private track(state: TransferState): Live {
    const t = newLive(state)
    this.transfers.set(state.id, t)
    return t
  }

  private onMessage(peerId: string, msg: PeerMessage) {
    const peer = this.room.peers.find((p) => p.peerId === peerId)
    // A bye never gets here: the peer registry closes the link on it.
    if (msg.t === 'hello' || msg.t === 'bye') return
    if (msg.t === 'offer') {
      if (this.transfers.has(msg.id) || !peer) return
      this.track(newIncoming(msg.id, peerId, peer.name, msg.files))
      this.notify(true)
      return
    }
    const t = this.transfers.get(msg.id)
    if (!t) {
      // Someone wants to go on with a transfer this browser no longer has (other browser, cleared data).
      if (msg.t === 'resume' || msg.t === 'accept') this.links.get(peerId)?.send({ t: 'cancel', id: msg.id, reason: msg.t === 'resume' ? 'receiver-error' : 'sender-error' })
      return
    }
    if (t.state.peerId !== peerId) {
      // The other device came back under a new identity (a reload): knowing the transfer's random id
      // (shared only between the two devices) is what lets it pick the transfer up again.
      const old = t.state.peerId
      if ((msg.t !== 'resume' && msg.t !== 'accept') || (t.state.phase !== 'interrupted' && this.links.isConnected(old))) return
      t.state = { ...t.state, peerId, peerName: peer?.name ?? t.state.peerName }
      if (t.state.phase !== 'interrupted') this.dispatch(t, { type: 'link-down', why: 'lost' })
    }
    this.dispatch(t, { type: 'message', msg })
  }

  private onChannel(peerId: string, pipe: Pipe) {
    const m = /^x:([A-Za-z0-9_-]{8,64}):\d+$/.exec(pipe.label)
    const t = m ? this.transfers.get(m[1]!) : undefined
    if (!t || t.state.peerId !== peerId || t.state.direction !== 'receive' || t.state.phase !== 'active' || !t.receiver) {
      pipe.close()
      return
    }
    t.pipe?.close()
    t.pipe = pipe
    t.receiver.attach(pipe)
  }

  private dispatch(t: Live, e: TransferEvent) {
    const { state, effects } = transition(t.state, e)
    t.state = state
    for (const effect of effects) this.run(t, effect)
    this.notify(e.type !== 'written')
  }

  private run(t: Live, effect: Effect) {
    const id = t.state.id
    switch (effect.type) {
      case 'send':
        this.links.get(t.state.peerId)?.send(effect.msg)
        return
      case 'open-sink':
        void this.io.openSink(t)
        return
      case 'pump':
        void this.io.pump(t, effect.at)
        return
      case 'stop':
        this.io.stop(t, effect.discard)
        return
      case 'timer': {
        const old = t.timers.get(effect.name)
        if (old) clearTimeout(old)
        t.timers.set(
          effect.name,
          setTimeout(() => this.dispatch(t, { type: effect.name === 'finishing' ? 'finishing-timeout' : 'gave-up' }), effect.ms),
        )
        return
      }
      case 'clear-timer': {
        const timer = t.timers.get(effect.name)
        if (timer) clearTimeout(timer)
        t.timers.delete(effect.name)
        return
      }
      case 'persist':
        void this.io.persist(t)
        return
      case 'forget':
        void forgetTransfer(id)
        return
      case 'report':
        this.report(t)
        return
    }
  }

  /** Stats for the admin dashboard: sizes, counts and timing only. */
  private report(t: Live) {
    const phase = t.state.phase
    const status: ReportStatus = phase === 'completed' ? 'completed' : phase === 'declined' ? 'declined' : phase === 'cancelled' ? 'cancelled' : 'failed'
    const files = phase === 'completed' ? t.state.files.length : 0
    this.signaling.transferReport({ id: t.state.id, bytes: Math.min(Math.round(t.meter.snapshot().bytes), t.meter.total), files, ms: Math.max(0, Math.round(performance.now() - t.startedAt)), status })
  }

  private closeAll() {
    this.links.removeAll('left')
    for (const t of this.transfers.values()) {
      for (const timer of t.timers.values()) clearTimeout(timer)
      t.timers.clear()
    }
  }

  /** Snapshots for the UI: status changes at once, progress at most twice a second (each render costs the page its main thread; a bar moving in half-second steps reads as steady). */
  private notify(now = false) {
    if (!now) {
      this.notifyTimer ??= setTimeout(() => this.notify(true), 500)
      return
    }
    if (this.notifyTimer) clearTimeout(this.notifyTimer)
    this.notifyTimer = null
    this.view = {
      ...this.room,
      transfers: [...this.transfers.values()].map((t) => ({
        ...t.state,
        progress: t.meter.snapshot(),
        received: t.received,
        memoryWarning: t.memoryWarning,
        path: this.room.peers.find((p) => p.peerId === t.state.peerId)?.path ?? null,
      })),
    }
    for (const fn of this.listeners) fn()
  }
}

function randomTransferId(): string {
  const buf = new Uint8Array(12)
  crypto.getRandomValues(buf)
  return Array.from(buf, (b) => b.toString(16).padStart(2, '0')).join('')
}

async function fetchIceServers(baseUrl: string): Promise<{ servers: RTCIceServer[]; ttl: number }> {
  try {
    const res = await fetch(`${baseUrl}/api/rtc/ice-servers`)
    if (!res.ok) return { servers: [], ttl: 0 }
    const body = (await res.json()) as IceServersResponse
    return { servers: body.iceServers.map((s) => ({ urls: s.urls, username: s.username, credential: s.credential })), ttl: body.ttl }
  } catch {
    // Without ICE servers, host candidates still connect devices on the same network.
    return { servers: [], ttl: 0 }
  }
}
