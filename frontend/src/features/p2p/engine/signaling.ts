import { i18n } from '../../../i18n'
import {
  ROOMS_NAMESPACE,
  type Ack,
  type ClientToServer,
  type NearbyJoined,
  type PeerSignal,
  type Reconnect,
  type RoomCreated,
  type RoomJoined,
  type ServerToClient,
  type TransferReport,
  type TransferStarted,
} from '@sharesync/protocol'
import { io, type Socket } from 'socket.io-client'
import type { RoomFilesPort, RoomTarget, SignalingEvents, SignalingPort } from './ports'
import type { RelayOpenResult } from './relay'

type RoomSocket = Socket<ServerToClient, ClientToServer>

/** Reconnect tokens live in sessionStorage: they survive a reload of the tab, not the tab itself. */
const TOKEN_KEY = (secret: string) => `sharesync.p2p.token.${secret}`
const NEARBY_TOKEN_KEY = 'sharesync.p2p.token.nearby'

const session = {
  get(key: string): string | null {
    try {
      return window.sessionStorage.getItem(key)
    } catch {
      return null
    }
  },
  set(key: string, value: string | null) {
    try {
      if (value === null) window.sessionStorage.removeItem(key)
      else window.sessionStorage.setItem(key, value)
    } catch {
      // private mode: no resume across reloads, the rest works
    }
  },
}

/**
 * The signaling port over Socket.IO (namespace /rooms): WebSocket first, long-polling when blocked.
 * Membership is resumable: the server's reconnect token (kept per room in sessionStorage) brings
 * this device back under the same peer id after a dropped connection or a reload, so the other
 * devices know it is the same one; without a valid token it joins again by the link as a new peer.
 */
export class SocketSignaling implements SignalingPort {
  protected readonly socket: RoomSocket
  private connectedOnce = false
  /** the group whose peer:* events are this session's (a room, or a link room) */
  protected roomId: string | null = null
  private roomSecret: string | null = null
  private nearbyId: string | null = null

  constructor(baseUrl = '') {
    this.socket = io(`${baseUrl}${ROOMS_NAMESPACE}`, { transports: ['websocket', 'polling'], tryAllTransports: true })
  }

  readonly files: RoomFilesPort = {
    leave: (file) => this.ask((s) => s.emitWithAck('files:leave', file)),
    ready: (id) => this.ask((s) => s.emitWithAck('files:ready', { id })),
    list: () => this.ask((s) => s.emitWithAck('files:list', {})),
    url: (id) => this.ask((s) => s.emitWithAck('files:url', { id })),
    remove: (id) => this.ask((s) => s.emitWithAck('files:remove', { id })),
    watch: (events) => {
      const added = ({ roomId, file }: { roomId: string; file: Parameters<typeof events.added>[0] }) => roomId === this.roomId && events.added(file)
      const removed = ({ roomId, id }: { roomId: string; id: string }) => roomId === this.roomId && events.removed(id)
      const connected = () => events.connected()
      this.socket.on('files:added', added)
      this.socket.on('files:removed', removed)
      this.socket.on('connect', connected)
      return () => {
        this.socket.off('files:added', added)
        this.socket.off('files:removed', removed)
        this.socket.off('connect', connected)
      }
    },
  }

  /** An acknowledged request; no answer in time reads as an error ack, never a throw. */
  private async ask<T extends object>(send: (s: ReturnType<RoomSocket['timeout']>) => Promise<Ack<T>>): Promise<Ack<T>> {
    return send(this.socket.timeout(10_000)).catch(() => ({ ok: false as const, error: { code: 'internal' as const, message: i18n.t('engine.noAnswer') } }))
  }

  on(events: SignalingEvents): void {
    const s = this.socket
    s.on('connect', () => {
      this.connectedOnce = true
      // A recovered connection kept its memberships and got the events it missed: nothing to redo.
      events.up(s.recovered)
    })
    s.on('disconnect', () => events.down())
    s.on('connect_error', () => {
      if (!this.connectedOnce) events.unreachable()
    })
    const mine = (roomId: string | undefined) => roomId === undefined || roomId === this.roomId || roomId === this.nearbyId
    const group = (roomId: string | undefined): 'room' | 'nearby' => (roomId !== undefined && roomId === this.nearbyId && roomId !== this.roomId ? 'nearby' : 'room')
    s.on('peer:joined', ({ roomId, peer }) => mine(roomId) && events.peerJoined(peer, group(roomId)))
    s.on('peer:back', ({ roomId, peer }) => mine(roomId) && events.peerBack(peer, group(roomId)))
    s.on('peer:reconnecting', ({ roomId, peerId }) => mine(roomId) && events.peerReconnecting(peerId))
    s.on('peer:left', ({ roomId, peerId }) => mine(roomId) && events.peerLeft(peerId, group(roomId)))
    s.on('signal', ({ from, data }) => events.signal(from, data))
    s.on('relay:opened', ({ id, from, chunkBytes, window }) => events.relayOpened({ id, from, chunkBytes, window }))
    s.on('relay:data', ({ id, data }, ack) => events.relayData(id, typeof data === 'string' ? data : toArrayBuffer(data), () => ack?.()))
    s.on('relay:closed', ({ id }) => events.relayClosed(id))
    s.on('room:closed', ({ roomId }) => {
      if (roomId !== undefined && roomId === this.nearbyId) return
      events.roomClosed()
    })
  }

  async enter(target: RoomTarget, name: string | undefined): Promise<Ack<RoomCreated & Partial<Pick<RoomJoined, 'peers'>>>> {
    const s = this.socket.timeout(10_000)
    if ('secret' in target) {
      const token = session.get(TOKEN_KEY(target.secret))
      if (token) {
        const resumed = await this.socket
          .timeout(5_000)
          .emitWithAck('room:resume', { token })
          .catch(() => null)
        if (resumed?.ok) return this.entered(resumed)
        // Spent, expired or unknown: join by the link as a new peer.
        session.set(TOKEN_KEY(target.secret), null)
      }
    }
    const res =
      'create' in target
        ? await s.emitWithAck('room:create', { name, resumable: true })
        : await s.emitWithAck('room:join', 'code' in target ? { code: target.code, name, resumable: true } : { secret: target.secret, name, resumable: true })
    return this.entered(res)
  }

  /** Nearby devices (same network, no code); null when the server offers none here. */
  async joinNearby(name: string | undefined): Promise<NearbyJoined | null> {
    const token = session.get(NEARBY_TOKEN_KEY) ?? undefined
    const res = await this.socket
      .timeout(5_000)
      .emitWithAck('nearby:join', { name, resumable: true, ...(token ? { token } : {}) })
      .catch(() => null)
    if (!res?.ok) {
      if (token) session.set(NEARBY_TOKEN_KEY, null)
      return null
    }
    this.nearbyId = res.nearby.id
    session.set(NEARBY_TOKEN_KEY, res.reconnect?.token ?? null)
    return res
  }

  leaveNearby(): void {
    this.nearbyId = null
    session.set(NEARBY_TOKEN_KEY, null)
    this.socket.emit('nearby:leave', {}, () => undefined)
  }

  async openRelay(to: string, bytes: number): Promise<RelayOpenResult> {
    const res = await this.socket
      .timeout(10_000)
      .emitWithAck('relay:open', { to, bytes })
      .catch(() => null)
    if (!res) return { ok: false, code: 'unavailable', message: i18n.t('engine.noAnswerShort') }
    return res.ok ? { ok: true, relay: res.relay } : { ok: false, code: res.error.code, message: res.error.message }
  }

  relayData(id: string, data: Uint8Array<ArrayBuffer> | string, done: (ok: boolean) => void): void {
    this.socket.timeout(60_000).emit('relay:data', { id, data }, (err: Error | null, res?: { ok: boolean }) => done(!err && res?.ok === true))
  }

  closeRelay(id: string): void {
    this.socket.emit('relay:close', { id }, () => undefined)
  }

  signal(to: string, data: PeerSignal): void {
    this.socket.emit('signal', { to, data }, () => undefined)
  }

  transferStarted(started: TransferStarted): void {
    this.socket.emit('transfer:started', started, () => undefined)
  }

  transferReport(report: TransferReport): void {
    this.socket.emit('transfer:report', report, () => undefined)
  }

  leave(): void {
    // Leaving on purpose: the seat is not held, and a later visit joins as a new device.
    if (this.roomSecret) session.set(TOKEN_KEY(this.roomSecret), null)
    this.socket.emit('room:leave', {}, () => undefined)
    this.socket.disconnect()
  }

  private entered<T extends { ok: true; room: RoomCreated['room']; reconnect?: Reconnect } | { ok: false }>(res: T): T {
    if (res.ok) {
      this.roomId = res.room.id
      this.roomSecret = res.room.secret
      session.set(TOKEN_KEY(res.room.secret), res.reconnect?.token ?? null)
    }
    return res
  }
}

function toArrayBuffer(data: ArrayBuffer | Uint8Array): ArrayBuffer {
  if (data instanceof ArrayBuffer) return data
  return data.slice().buffer as ArrayBuffer
}
