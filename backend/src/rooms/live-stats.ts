import type { Logger } from 'pino'
import type { RoomsNamespace, RoomsSocket } from './rooms.socket'

export interface RoomsLiveStats {
  /** sockets connected to /rooms */
  sockets: number
  /** rooms and nearby groups with at least one member */
  rooms: number
  /** sockets that are in a room or nearby group */
  peers: number
  /** transfers announced (`transfer:started`) and not reported yet */
  transfersInProgress: number
  /** server relay channels open */
  relays: number
}

/**
 * Live counters for the admin dashboard, cluster-wide: with the Redis adapter fetchSockets() asks
 * every instance, so the figures cover all of them. An instance that does not answer in time (frozen,
 * overloaded) must not freeze the dashboard: the figures then cover this instance only.
 */
export async function roomsLiveStats(nsp: RoomsNamespace, logger?: Logger): Promise<RoomsLiveStats> {
  let sockets: Pick<RoomsSocket, 'data'>[]
  try {
    sockets = await nsp.fetchSockets()
  } catch (err) {
    logger?.warn({ err: (err as Error).message }, 'rooms: another instance did not answer; live figures cover this instance only')
    sockets = [...nsp.sockets.values()]
  }
  const rooms = new Set<string>()
  let peers = 0
  let transfersInProgress = 0
  let relays = 0
  for (const s of sockets) {
    const seats = [s.data.room, s.data.nearby].filter((m) => m !== null && m !== undefined)
    for (const m of seats) rooms.add(m.roomId)
    if (seats.length > 0) peers += 1
    transfersInProgress += s.data.activeTransfers ?? 0
    relays += s.data.relays ?? 0
  }
  return { sockets: sockets.length, rooms: rooms.size, peers, transfersInProgress, relays }
}
