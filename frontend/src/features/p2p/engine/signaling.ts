import { ROOMS_NAMESPACE, type Ack, type ClientToServer, type PeerSignal, type RoomCreated, type RoomJoined, type ServerToClient, type TransferReport, type TransferStarted } from '@sharesync/protocol'
import { io, type Socket } from 'socket.io-client'
import type { JoinTarget, SignalingEvents, SignalingPort } from './ports'

type RoomSocket = Socket<ServerToClient, ClientToServer>

/** The signaling port over Socket.IO (namespace /rooms): WebSocket first, long-polling when blocked. */
export class SocketSignaling implements SignalingPort {
  private readonly socket: RoomSocket
  private connectedOnce = false

  constructor(baseUrl = '') {
    this.socket = io(`${baseUrl}${ROOMS_NAMESPACE}`, { transports: ['websocket', 'polling'], tryAllTransports: true })
  }

  on(events: SignalingEvents): void {
    const s = this.socket
    s.on('connect', () => {
      this.connectedOnce = true
      events.up()
    })
    s.on('disconnect', () => events.down())
    s.on('connect_error', () => {
      if (!this.connectedOnce) events.unreachable()
    })
    s.on('peer:joined', ({ peer }) => events.peerJoined(peer))
    s.on('peer:left', ({ peerId }) => events.peerLeft(peerId))
    s.on('signal', ({ from, data }) => events.signal(from, data))
    s.on('room:closed', () => events.roomClosed())
  }

  async enter(target: JoinTarget, name: string | undefined): Promise<Ack<RoomCreated & Partial<Pick<RoomJoined, 'peers'>>>> {
    const s = this.socket.timeout(10_000)
    if ('create' in target) return s.emitWithAck('room:create', { name })
    return s.emitWithAck('room:join', 'code' in target ? { code: target.code, name } : { secret: target.secret, name })
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
    this.socket.emit('room:leave', {}, () => undefined)
    this.socket.disconnect()
  }
}
