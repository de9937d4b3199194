import type { Ack, Peer, PeerMessage, PeerSignal, RoomCreated, RoomJoined, TransferReport, TransferStarted } from '@sharesync/protocol'
import type { LinkPath, LinkState } from './room-machine'

/**
 * The session's ports: everything it does to the outside world goes through one of these, so the
 * session itself holds only rules and wiring. The real adapters are the Socket.IO signaling client,
 * RTCPeerConnection links and the worker-backed sinks.
 */

export type JoinTarget = { create: true } | { code: string } | { secret: string }

export type Group = 'room' | 'nearby'

export interface SignalingEvents {
  /** `recovered`: the connection came back with its memberships (nothing to re-enter) */
  up(recovered: boolean): void
  down(): void
  /** the server could not be reached at all (before any connection) */
  unreachable(): void
  peerJoined(peer: Peer, group: Group): void
  /** the same peer id, back after a dropped connection or a reload */
  peerBack(peer: Peer, group: Group): void
  peerReconnecting(peerId: string): void
  peerLeft(peerId: string, group: Group): void
  signal(from: string, data: unknown): void
  roomClosed(): void
}

export interface SignalingPort {
  on(events: SignalingEvents): void
  enter(target: JoinTarget, name: string | undefined): Promise<Ack<RoomCreated & Partial<Pick<RoomJoined, 'peers'>>>>
  signal(to: string, data: PeerSignal): void
  transferStarted(started: TransferStarted): void
  transferReport(report: TransferReport): void
  leave(): void
}

export interface PeerPortEvents {
  state(state: LinkState, path: LinkPath | null): void
  message(msg: PeerMessage): void
  channel(dc: RTCDataChannel): void
}

export interface PeerPort {
  readonly remoteId: string
  readonly state: LinkState
  readonly path: LinkPath | null
  start(): Promise<void>
  handleSignal(data: unknown): Promise<void>
  send(msg: PeerMessage): boolean
  openChannel(label: string): RTCDataChannel
  chunkSize(): number
  close(): void
}

export type PeerFactory = (remoteId: string, initiator: boolean, iceServers: RTCIceServer[], signal: (data: PeerSignal) => void, events: PeerPortEvents) => PeerPort
