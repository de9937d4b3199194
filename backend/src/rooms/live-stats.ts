import type { RoomsNamespace } from './rooms.socket'

export interface RoomsLiveStats {
  /** sockets connected to /rooms */
  sockets: number
  /** rooms with at least one member */
  rooms: number
  /** sockets that are in a room */
  peers: number
  /** transfers announced (`transfer:started`) and not reported yet */
  transfersInProgress: number
}

/**
 * Live counters for the admin dashboard, cluster-wide: with the Redis adapter fetchSockets() asks
 * every instance, so the figures cover all of them.
 */
export async function roomsLiveStats(nsp: RoomsNamespace): Promise<RoomsLiveStats> {
  const sockets = await nsp.fetchSockets()
  const rooms = new Set<string>()
  let peers = 0
  let transfersInProgress = 0
  for (const s of sockets) {
    if (s.data.roomId) {
      rooms.add(s.data.roomId)
      peers += 1
    }
    transfersInProgress += s.data.activeTransfers ?? 0
  }
  return { sockets: sockets.length, rooms: rooms.size, peers, transfersInProgress }
}
