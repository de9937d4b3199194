import type { ClientToServer, Peer, ServerToClient } from '@sharesync/protocol'
import type { Namespace, Socket } from 'socket.io'
import type { LinkRole, MemberRecord, RoomKind } from './room-store'

/** Between instances (Socket.IO server-side events): "check your seats now". */
export interface InterServer {
  'rooms:resync': (ack: (done: boolean) => void) => void
}

/** A socket's seat in a room or in its nearby group. */
export interface Membership {
  roomId: string
  kind: RoomKind
  resumable: boolean
  /** link rooms only */
  role?: LinkRole
}

export interface SocketData {
  peerId: string
  /** the room joined by code or link */
  room: Membership | null
  /** the nearby group of its network */
  nearby: Membership | null
  /** the link room of a `direct` share, as a host or a recipient */
  link: Membership | null
  name: string
  device: string
  /** the client address (TRUST_PROXY-aware, as the rate limits see it) */
  ip: string
  /** transfers this socket announced and has not reported yet (live admin counter) */
  activeTransfers: number
  /** relay channels this socket opened and that are open (live admin counter) */
  relays: number
  /** set by the auth handshake middleware when the person is signed in */
  userId: string | null
}

export type RoomsNamespace = Namespace<ClientToServer, ServerToClient, InterServer, SocketData>
export type RoomsSocket = Socket<ClientToServer, ServerToClient, InterServer, SocketData>

/** Socket.IO rooms: every member of a P2P room or nearby group, and every socket of one peer. */
export const roomChannel = (roomId: string) => `room:${roomId}`
export const peerChannel = (peerId: string) => `peer:${peerId}`
/** A link room's hosts: recipients' arrivals and departures, claims and receipts go only to them. */
export const hostChannel = (roomId: string) => `hosts:${roomId}`

export const memberships = (data: SocketData) => [data.room, data.nearby, data.link].filter((m): m is Membership => m !== null && m !== undefined)

export const peerOf = (m: Pick<MemberRecord, 'peerId' | 'name' | 'device' | 'away'>): Peer => ({ peerId: m.peerId, name: m.name, device: m.device, ...(m.away ? { reconnecting: true } : {}) })
