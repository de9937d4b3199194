import type { IceServersResponse, PeerFile, PeerMessage, RoomInfo, TransferStatus as ReportStatus } from '@sharesync/protocol'
import { forgetTransfer, saveTransfer, savedTransferIds, savedTransfers, type SavedTransfer } from './checkpoints'
import { PeerLink } from './peer-link'
import type { Pipe } from './pipe'
import { PeerLinks } from './peer-links'
import type { JoinTarget, PeerFactory, SignalingPort } from './ports'
import { ProgressMeter, type Progress } from './progress'
import type { SinkCheckpoint } from './receive-protocol'
import { FilesReceiver } from './receive-files'
import { initialRoom, roomTransition, type LinkPath, type RoomEvent, type RoomState } from './room-machine'
import { FilesSender } from './send-files'
import { SocketSignaling } from './signaling'
import { canStreamToDisk, clearOldReceivedFiles, opfsFile, pickDirectory, sinkTarget, uniqueName, type ForcedSink, type SinkKind } from './sinks'
import { bytesBefore, isFinal, newIncoming, newOutgoing, restored, transition, type Effect, type TransferEvent, type TransferState } from './transfer-machine'
import { unreachableMessage } from './connection-hint'

/**
 * A person's presence in one room. It wires the ports (signaling, peer links, sinks) to the two
 * pure state machines (room-machine, transfer-machine) and carries out their effects; React only
 * renders its snapshots. Tests and benches can drive it alone, with other ports.
 */

export type { JoinTarget } from './ports'
export type { LinkPath, LinkState } from './room-machine'
export type { TransferPhase } from './transfer-machine'

export const RELAY_OFF_HINT =
  'Could not connect directly to this device, and the server relay is switched off here. Put both devices on the same network (Wi-Fi), or ask your admin to switch the P2P relay on or to configure a TURN server (TURN_URLS/TURN_SECRET).'
export const TURN_HINT = 'Could not connect directly to this device (a firewall or a different network may block it). Your admin can configure a TURN server (TURN_URLS/TURN_SECRET).'

export interface ReceivedFile {
  name: string
  size: number
  /** a blob: URL to save it from; empty when it already went to the browser's downloads */
  url: string
  verified: boolean
  sink: SinkKind
}

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

interface Live {
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

const defaultPeers: PeerFactory = (remoteId, initiator, iceServers, signal, events) => new PeerLink(remoteId, initiator, iceServers, signal, events)

export class RoomSession {
  private readonly signaling: SignalingPort
  private readonly links: PeerLinks
  private readonly transfers = new Map<string, Live>()
  private readonly listeners = new Set<() => void>()
  private readonly takenNames = new Set<string>()
  private readonly urls = new Set<string>()
  private room: RoomState = initialRoom
  private iceRefresh: ReturnType<typeof setTimeout> | null = null
  private hasLeft = false
  private view: SessionView = { ...initialRoom, transfers: [] }
  private notifyTimer: ReturnType<typeof setTimeout> | null = null
  private restoredFor: string | null = null

  constructor(
    private readonly target: JoinTarget,
    private opts: SessionOptions = {},
  ) {
    this.signaling = opts.signaling ?? new SocketSignaling(opts.baseUrl)
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
    const offered: PeerFile[] = files.map((f, i) => ({ id: String(i), name: f.name || `file-${i + 1}`, size: f.size, type: f.type || 'application/octet-stream', lastModified: Math.max(0, Math.floor(f.lastModified || 0)) }))
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
      t.state = { ...t.state, message: 'These are not the same files (name, size or date differ). Choose the files you were sending.' }
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
    for (const f of t.received) this.revoke(f.url)
    this.transfers.delete(id)
    this.notify(true)
  }

  leave(): void {
    this.hasLeft = true
    if (this.iceRefresh) clearTimeout(this.iceRefresh)
    for (const t of this.transfers.values()) this.dispatch(t, { type: 'cancel-clicked' })
    this.closeAll()
    for (const url of this.urls) URL.revokeObjectURL(url)
    this.urls.clear()
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
      return this.roomEvent({ type: 'join-failed', message: 'The server did not answer. Please try again.' })
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
          this.addReceived(t, meta, file, true, 'opfs')
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
    const total = state.files.reduce((s, f) => s + f.size, 0)
    const t: Live = {
      state,
      meter: new ProgressMeter(total),
      startedAt: performance.now(),
      received: [],
      memoryWarning: state.direction === 'receive' && state.files.some((f) => !canStreamToDisk(f.size)),
      pipes: 0,
      checkpoint: null,
      timers: new Map(),
    }
    this.transfers.set(state.id, t)
    return t
  }

  private onMessage(peerId: string, msg: PeerMessage) {
    const peer = this.room.peers.find((p) => p.peerId === peerId)
    if (msg.t === 'hello') return
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
        void this.openSink(t)
        return
      case 'pump':
        void this.pump(t, effect.at)
        return
      case 'stop':
        this.stopIo(t, effect.discard)
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
        void this.persist(t)
        return
      case 'forget':
        void forgetTransfer(id)
        return
      case 'report':
        this.report(t)
        return
    }
  }

  private async openSink(t: Live) {
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
          this.dispatch(t, { type: 'written', at })
        },
        checkpoint: (file, cp: SinkCheckpoint) => {
          t.checkpoint = { file, ...cp }
          void this.persist(t)
        },
        checked: (index, ok, saved) => {
          const meta = t.state.files[index]!
          if (ok) this.addReceived(t, meta, saved, true, t.sinkKind ?? 'opfs')
          this.dispatch(t, { type: 'file-checked', file: index, ok })
          if (ok) void this.persist(t)
        },
        allDone: () => {
          t.meter.update(t.meter.total)
          this.dispatch(t, { type: 'all-received' })
        },
        failed: (reason) => this.dispatch(t, { type: 'error', message: `Receiving stopped: ${reason}.` }),
      },
      { bytesPerSecond: this.opts.sinkBytesPerSecond },
    )
    const checkpoint = t.checkpoint && t.checkpoint.file === s.at.file ? t.checkpoint : null
    try {
      const { at } = await t.receiver.prepare(checkpoint ? { file: s.at.file, offset: checkpoint.offset } : s.at, checkpoint)
      t.meter.update(bytesBefore(s.files, at))
      // While this page lives, its worker keeps any sink's exact position: every sink resumes.
      this.dispatch(t, { type: 'sink-ready', at, resumable: true })
    } catch (err) {
      this.dispatch(t, { type: 'error', message: `Receiving stopped: ${err instanceof Error ? err.message : 'the file could not be opened'}.` })
    }
  }

  private async pump(t: Live, at: { file: number; offset: number }) {
    const link = this.links.get(t.state.peerId)
    if (!link || !t.outgoing) return
    if (at.file >= t.state.files.length) return this.dispatch(t, { type: 'sent-all' })
    t.sender ??= new FilesSender(
      t.outgoing,
      {
        progress: (bytes) => {
          t.meter.update(bytes)
          this.notify()
        },
        sentAll: () => this.dispatch(t, { type: 'sent-all' }),
        failed: (message) => this.dispatch(t, { type: 'error', message: `Sending failed: ${message}.` }),
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
      return this.dispatch(t, { type: 'error', message: `Sending failed: ${err instanceof Error ? err.message : 'no channel to the other device'}.` })
    }
    // Superseded while the channel was being opened (another resume, a cancel).
    if (t.pipes !== n || t.state.phase !== 'active') return pipe.close()
    t.pipe = pipe
    pipe.onClose(() => {
      // The channel closed under a moving transfer while the link stays up: go on over a new one.
      if (t.pipe !== pipe || t.state.phase !== 'active') return
      this.dispatch(t, { type: 'link-down', why: 'lost' })
      if (this.links.isConnected(t.state.peerId)) this.dispatch(t, { type: 'link-up' })
    })
    void t.sender.start(pipe, at, link.chunkSize())
  }

  private stopIo(t: Live, discard: boolean) {
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

  private async persist(t: Live) {
    const s = t.state
    const room = this.room.room
    // Only room transfers resume after a reload (the room's link brings the page back to them).
    if (!room || isFinal(s.phase)) return
    // Only OPFS files outlive the page (a picked folder needs a new permission, a download stream ends).
    if (s.direction === 'receive' && t.sinkKind !== 'opfs') return
    await saveTransfer({ id: s.id, direction: s.direction, room: room.secret, peerId: s.peerId, peerName: s.peerName, files: s.files, at: s.at, checkpoint: t.checkpoint, savedAt: Date.now() })
  }

  private addReceived(t: Live, meta: PeerFile, saved: File | null, verified: boolean, sink: SinkKind) {
    const url = saved ? URL.createObjectURL(saved) : ''
    if (url) this.urls.add(url)
    // A picked folder already chose a free name on disk; other files get one among this page's files.
    const name = sink === 'picked' && saved ? saved.name : meta.name
    t.received = [...t.received, { name: uniqueName(name, this.takenNames), size: meta.size, url, verified, sink }]
  }

  private revoke(url: string) {
    if (!url) return
    URL.revokeObjectURL(url)
    this.urls.delete(url)
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

  /** Snapshots for the UI: status changes at once, progress at most 5 times a second. */
  private notify(now = false) {
    if (!now) {
      this.notifyTimer ??= setTimeout(() => this.notify(true), 200)
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
