import type { NearbyInfo, Peer, RoomInfo } from '@sharesync/protocol'

/**
 * A device's presence in a room, as a pure reducer: the signaling connection, the room, the other
 * members and how each is reached. The session feeds it events from the signaling and peer ports and
 * renders the state; nothing here does I/O.
 */

/** How a peer's bytes travel: straight (possibly through TURN), or through the app's server relay. */
export type LinkPath = 'direct' | 'turn' | 'relay'
export type LinkState = 'connecting' | 'connected' | 'reconnecting' | 'failed' | 'closed'

export interface PeerState extends Peer {
  link: LinkState
  path: LinkPath | null
}

export interface RoomState {
  phase: 'connecting' | 'ready' | 'error' | 'left'
  serverConnected: boolean
  room: RoomInfo | null
  /** the nearby group (devices on this network, no code), when this page is in one */
  nearby: NearbyInfo | null
  /** 'off' when the server offers none here, or this device is hidden */
  nearbyState: 'joining' | 'on' | 'off'
  self: Peer | null
  peers: PeerState[]
  error: string | null
  /** the server relay is switched off by the admin (relevant when no direct link can be made) */
  relayOff: boolean
}

export type RoomEvent =
  | { type: 'socket-up' }
  | { type: 'socket-down' }
  | { type: 'joined'; room: RoomInfo; self: Peer; peers: Peer[] }
  | { type: 'nearby-joined'; nearby: NearbyInfo; self: Peer; peers: Peer[] }
  | { type: 'nearby-off' }
  | { type: 'join-failed'; message: string }
  | { type: 'peer-joined'; peer: Peer }
  | { type: 'peer-left'; peerId: string }
  | { type: 'peer-reconnecting'; peerId: string }
  | { type: 'link'; peerId: string; link: LinkState; path?: LinkPath | null }
  | { type: 'relay-off' }
  | { type: 'room-closed' }
  | { type: 'left' }

export const initialRoom: RoomState = { phase: 'connecting', serverConnected: false, room: null, nearby: null, nearbyState: 'joining', self: null, peers: [], error: null, relayOff: false }

export function roomTransition(s: RoomState, e: RoomEvent): RoomState {
  if (s.phase === 'left') return s
  switch (e.type) {
    case 'socket-up':
      return { ...s, serverConnected: true }
    case 'socket-down':
      return { ...s, serverConnected: false }
    case 'joined': {
      // A rejoin keeps what is known about peers that are still there (their links may have survived).
      const known = new Map(s.peers.map((p) => [p.peerId, p]))
      const peers = e.peers.filter((p) => p.peerId !== e.self.peerId).map((p) => merge(known.get(p.peerId), p))
      return { ...s, phase: 'ready', room: e.room, self: e.self, peers, error: null }
    }
    case 'nearby-joined': {
      const known = new Map(s.peers.map((p) => [p.peerId, p]))
      const peers = e.peers.filter((p) => p.peerId !== e.self.peerId).map((p) => merge(known.get(p.peerId), p))
      return { ...s, phase: 'ready', nearby: e.nearby, nearbyState: 'on', self: e.self, peers, error: null }
    }
    case 'nearby-off':
      return { ...s, phase: s.phase === 'connecting' ? 'ready' : s.phase, nearby: null, nearbyState: 'off', peers: s.room ? s.peers : [] }
    case 'join-failed':
      // Before the first join this ends the page; afterwards it is a passing problem.
      return { ...s, phase: s.room ? s.phase : 'error', error: e.message }
    case 'peer-joined': {
      if (e.peer.peerId === s.self?.peerId) return s
      const existing = s.peers.find((p) => p.peerId === e.peer.peerId)
      if (existing) return { ...s, peers: s.peers.map((p) => (p.peerId === e.peer.peerId ? merge(p, e.peer) : p)) }
      return { ...s, peers: [...s.peers, merge(undefined, e.peer)] }
    }
    case 'peer-left':
      return { ...s, peers: s.peers.filter((p) => p.peerId !== e.peerId) }
    case 'peer-reconnecting':
      return { ...s, peers: s.peers.map((p) => (p.peerId === e.peerId ? { ...p, reconnecting: true } : p)) }
    case 'link':
      return { ...s, peers: s.peers.map((p) => (p.peerId === e.peerId ? { ...p, link: e.link, path: e.path === undefined ? p.path : e.path } : p)) }
    case 'relay-off':
      return { ...s, relayOff: true }
    case 'room-closed':
    case 'left':
      return { ...s, phase: 'left', peers: [] }
  }
}

function merge(known: PeerState | undefined, peer: Peer): PeerState {
  return { ...peer, reconnecting: peer.reconnecting ?? false, link: known?.link ?? 'connecting', path: known?.path ?? null }
}

/** Peers that files can be sent to now. */
export function reachable(s: RoomState): PeerState[] {
  return s.peers.filter((p) => p.link === 'connected')
}
