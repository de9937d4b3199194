import type { LinkPath, LinkState } from '../p2p/engine/room-machine'

/**
 * The recipient's choice of path for a one-link share, as a pure reducer: directly from the sender's
 * open page (WebRTC, or the server relay standing in), else from the cloud copy, else wait. The share
 * page feeds it what the link room, the peer link and the share's metadata say; nothing here does I/O.
 *
 * Paths:
 *   connecting — a host is online and the link to it is being made (or the page is still asking)
 *   direct     — the link to the host is up, peer to peer (possibly through TURN)
 *   relay      — the link to the host is up through the app's server relay
 *   cloud      — no usable direct link (no host, no connection, or a direct transfer failed) and the
 *                cloud copy is ready
 *   waiting    — no usable direct link and the cloud copy is still uploading
 *   offline    — no host online and no cloud copy: nothing to get until the sender is back
 */

export type CloudCopy = 'none' | 'uploading' | 'ready'
export type Path = 'connecting' | 'direct' | 'relay' | 'cloud' | 'waiting' | 'offline'

export interface PathState {
  /** the link room answered (seated, with the hosts it listed) */
  joined: boolean
  /** the link room refused or could not be reached: only the cloud copy is left */
  joinFailed: boolean
  /** hosts seated now (before the room answers: the metadata's `online`, as 0 or 1) */
  hosts: number
  /** the peer link to the host, once one is being made */
  link: LinkState | null
  via: LinkPath | null
  /** the server relay is switched off (a failed direct link stays failed) */
  relayOff: boolean
  /** a direct transfer failed, or no link could be made in time: the cloud copy it is */
  directFailed: boolean
  cloud: CloudCopy
}

export type PathEvent =
  | { type: 'metadata'; cloud: CloudCopy; online: boolean }
  | { type: 'joined'; hosts: number }
  | { type: 'join-failed' }
  | { type: 'host-joined' }
  | { type: 'host-left' }
  | { type: 'link'; state: LinkState; via: LinkPath | null }
  | { type: 'relay-off' }
  /** no link came up in time */
  | { type: 'gave-up' }
  | { type: 'direct-failed' }

export function initialPath(cloud: CloudCopy, online: boolean): PathState {
  return { joined: false, joinFailed: false, hosts: online ? 1 : 0, link: null, via: null, relayOff: false, directFailed: false, cloud }
}

export function pathTransition(s: PathState, e: PathEvent): PathState {
  switch (e.type) {
    case 'metadata':
      // Before the room answers, the metadata's word on hosts stands; afterwards the room's does.
      return { ...s, cloud: e.cloud, hosts: s.joined ? s.hosts : e.online ? 1 : 0 }
    case 'joined':
      return { ...s, joined: true, joinFailed: false, hosts: e.hosts }
    case 'join-failed':
      return { ...s, joinFailed: true, hosts: 0, link: null, via: null }
    case 'host-joined':
      // A host that is (back) online is a new chance for the direct path.
      return { ...s, hosts: s.hosts + 1, directFailed: false, link: s.link === 'connected' ? s.link : null }
    case 'host-left': {
      const hosts = Math.max(0, s.hosts - 1)
      return hosts === 0 ? { ...s, hosts, link: null, via: null } : { ...s, hosts }
    }
    case 'link':
      return { ...s, link: e.state, via: e.state === 'connected' ? e.via : s.via }
    case 'relay-off':
      return { ...s, relayOff: true }
    case 'gave-up':
      return s.link === 'connected' ? s : { ...s, directFailed: true }
    case 'direct-failed':
      return { ...s, directFailed: true }
  }
}

/** Whether the direct path is still possible (a host, no failure, a link that may yet come up). */
function directPossible(s: PathState): boolean {
  if (s.joinFailed || s.hosts === 0 || s.directFailed) return false
  if (s.link === 'closed') return false
  // A failed WebRTC link is followed by the relay, unless the server said it has none.
  return !(s.link === 'failed' && s.relayOff)
}

export function choosePath(s: PathState): Path {
  if (directPossible(s)) {
    if (s.link === 'connected') return s.via === 'relay' ? 'relay' : 'direct'
    return 'connecting'
  }
  if (s.cloud === 'ready') return 'cloud'
  if (s.cloud === 'uploading') return 'waiting'
  return 'offline'
}

/** The path is settled: a download can start now (or, offline, cannot). */
export function settled(path: Path): boolean {
  return path !== 'connecting' && path !== 'waiting'
}
