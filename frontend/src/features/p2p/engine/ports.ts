import type { Ack, LeaveFile, LeftUpload, NearbyJoined, Peer, PeerMessage, PeerSignal, RoomCreated, RoomFile, RoomFileUrl, RoomJoined, TransferReport, TransferStarted } from '@sharesync/protocol'
import type { Pipe } from './pipe'
import type { RelayPort } from './relay'
import type { LinkPath, LinkState } from './room-machine'

/**
 * The session's ports: everything it does to the outside world goes through one of these, so the
 * session itself holds only rules and wiring. The real adapters are the Socket.IO signaling client,
 * RTCPeerConnection links and the worker-backed sinks.
 */

/** A room (created, or joined by code or link), or only the nearby group of this device's network. */
export type JoinTarget = { create: true } | { code: string } | { secret: string } | { nearby: true }
export type RoomTarget = Exclude<JoinTarget, { nearby: true }>

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
  relayOpened(opened: { id: string; from: string; chunkBytes: number; window: number }): void
  relayData(id: string, data: ArrayBuffer | string, ack: () => void): void
  relayClosed(id: string): void
}

/** Files left in the room (stored on the server for the room's members, protocol room-files.ts). */
export interface RoomFilesPort {
  leave(file: LeaveFile): Promise<Ack<{ upload: LeftUpload }>>
  ready(id: string): Promise<Ack<{ file: RoomFile }>>
  list(): Promise<Ack<{ files: RoomFile[] }>>
  url(id: string): Promise<Ack<RoomFileUrl>>
  remove(id: string): Promise<Ack>
  /** this room's files:added / files:removed, and every (re)connection; returns the unsubscribe */
  watch(events: { added(file: RoomFile): void; removed(id: string): void; connected(): void }): () => void
}

export interface SignalingPort extends RelayPort {
  /** absent on signaling that has no server behind it (test fakes) */
  readonly files?: RoomFilesPort
  on(events: SignalingEvents): void
  enter(target: RoomTarget, name: string | undefined): Promise<Ack<RoomCreated & Partial<Pick<RoomJoined, 'peers'>>>>
  /** null when the server offers no nearby group here */
  joinNearby(name: string | undefined): Promise<NearbyJoined | null>
  leaveNearby(): void
  signal(to: string, data: PeerSignal): void
  transferStarted(started: TransferStarted): void
  transferReport(report: TransferReport): void
  leave(): void
}

export interface PeerPortEvents {
  state(state: LinkState, path: LinkPath | null): void
  message(msg: PeerMessage): void
  /** the other side opened a transfer channel */
  channel(pipe: Pipe): void
}

export interface PeerPort {
  readonly remoteId: string
  readonly state: LinkState
  readonly path: LinkPath | null
  start(): Promise<void>
  handleSignal(data: unknown): Promise<void>
  send(msg: PeerMessage): boolean
  /** a reliable, ordered channel for one transfer's bytes (`bytes`: the most it will carry) */
  openPipe(label: string, bytes: number): Promise<Pipe>
  chunkSize(): number
  close(): void
}

export type PeerFactory = (remoteId: string, initiator: boolean, iceServers: RTCIceServer[], signal: (data: PeerSignal) => void, events: PeerPortEvents) => PeerPort
