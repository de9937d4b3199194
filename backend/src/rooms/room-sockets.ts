import type { ClientToServer, Peer, ServerToClient } from '@sharesync/protocol'
import type { Namespace, Socket } from 'socket.io'
import type { MemberRecord, RoomKind } from './room-store'

/** Between instances (Socket.IO server-side events): "check your seats now". */
export interface InterServer {
  'rooms:resync': (ack: (done: boolean) => void) => void
}

/** A socket's seat in a room or in its nearby group. */
export interface Membership {
  roomId: string
  kind: RoomKind
  resumable: boolean
}

export interface SocketData {
  peerId: string
  /** the room joined by code or link */
  room: Membership | null
  /** the nearby group of its network */
  nearby: Membership | null
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

export const memberships = (data: SocketData) => [data.room, data.nearby].filter((m): m is Membership => m !== null && m !== undefined)

export const peerOf = (m: Pick<MemberRecord, 'peerId' | 'name' | 'device' | 'away'>): Peer => ({ peerId: m.peerId, name: m.name, device: m.device, ...(m.away ? { reconnecting: true } : {}) })
