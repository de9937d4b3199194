import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import { linkRoomId } from '@sharesync/protocol'
import type { AppEventBus } from '../events'
import type { LinkRole, MemberRecord, RoomKind, RoomStore } from './room-store'
import type { LocalSeat } from './rooms-cluster'
import type { Entered, RoomsService } from './rooms.service'
import { hostChannel, memberships, peerChannel, peerOf, roomChannel, type Membership, type RoomsNamespace, type RoomsSocket } from './room-sockets'

export const newPeerId = () => randomBytes(12).toString('base64url')
const seatKey = (roomId: string, peerId: string) => `${roomId} ${peerId}`
const isLinkRoom = (roomId: string) => roomId.startsWith(linkRoomId(''))
/** Who hears about a member: in a link room, a recipient is seen by the hosts only; everyone else by the whole room. */
const audience = (roomId: string, role: LinkRole | undefined) => (role === 'recipient' ? hostChannel(roomId) : roomChannel(roomId))

export interface PresenceDeps {
  nsp: RoomsNamespace
  service: RoomsService
  store: RoomStore
  events: AppEventBus
  logger: Logger
  graceMs: number
  /** the socket gives up its seat in `roomId` (its relay channels there end) */
  leaving(socket: RoomsSocket, roomId: string): void
}

/**
 * This instance's side of membership: its sockets by peer id, the seats they hold (what it puts back
 * when Redis lost them), the seats it holds for reconnecting devices (grace timers), and what the
 * other members are told when a device joins, drops, comes back or leaves.
 */
export class RoomPresence {
  /** sockets on this instance by peer id */
  readonly locals = new Map<string, RoomsSocket>()
  private readonly seats = new Map<string, LocalSeat>()
  private readonly held = new Map<string, ReturnType<typeof setTimeout>>()

  constructor(private readonly deps: PresenceDeps) {}

  /** The live seats of this instance's sockets, for a restore (seats held for an absent device are not: it may have resumed elsewhere). */
  liveSeats(): LocalSeat[] {
    return [...this.seats.values()].filter((s) => !s.member.away)
  }

  /** A new socket: a fresh peer id, reachable by it. */
  connected(socket: RoomsSocket) {
    this.locals.set(socket.data.peerId, socket)
    void socket.join(peerChannel(socket.data.peerId))
  }

  /** The socket now answers to `peerId` (a resume gives it back its old one). */
  adoptPeerId(socket: RoomsSocket, peerId: string) {
    const old = socket.data.peerId
    if (old === peerId) return
    if (this.locals.get(old) === socket) this.locals.delete(old)
    void socket.leave(peerChannel(old))
    socket.data.peerId = peerId
    this.locals.set(peerId, socket)
    void socket.join(peerChannel(peerId))
  }

  /** Seats the socket in `entered.room` and tells the others (`peer:joined`, or `peer:back` for a resume). */
  async enter(socket: RoomsSocket, kind: RoomKind, entered: Entered, resumable: boolean) {
    const { room, self } = entered
    this.release(room.id, self.peerId)
    this.seats.set(seatKey(room.id, self.peerId), { room, member: self })
    socket.data[kind] = { roomId: room.id, kind, resumable: resumable || entered.previous !== undefined, ...(self.role ? { role: self.role } : {}) }
    // Gone while being admitted: its 'disconnect' saw no seat yet, so the seat is given back here.
    if (socket.disconnected) return this.leave(socket, kind)
    await socket.join(self.role === 'host' ? [roomChannel(room.id), hostChannel(room.id)] : roomChannel(room.id))
    const event = entered.previous ? 'peer:back' : 'peer:joined'
    socket.to(audience(room.id, self.role)).emit(event, { roomId: room.id, peer: peerOf(self) })
    // Resumed while the old socket still looked connected (the drop was not noticed yet): it goes.
    if (entered.previous && entered.previous.conn !== socket.id && !entered.previous.away) this.deps.nsp.in(entered.previous.conn).disconnectSockets(true)
  }

  /** Gives up the socket's seat of `kind` now. */
  async leave(socket: RoomsSocket, kind: RoomKind) {
    const m = socket.data[kind]
    if (!m) return
    socket.data[kind] = null
    this.deps.leaving(socket, m.roomId)
    await leaveChannels(socket, m)
    await this.free(m.roomId, socket.data.peerId, socket.id, m.role)
  }

  /** The socket disconnected: resumable seats are held for the grace period, the others freed at once. */
  disconnected(socket: RoomsSocket, deliberate: boolean) {
    if (this.locals.get(socket.data.peerId) === socket) this.locals.delete(socket.data.peerId)
    // socket.data is not changed here: connection state recovery restores it as it is now.
    for (const m of memberships(socket.data)) {
      this.dropped(socket, m, deliberate).catch((err: unknown) => this.deps.logger.warn({ err: (err as Error).message }, 'rooms: could not record a departure'))
    }
  }

  /** Connection state recovery brought the same socket back: its held seats are live again. */
  async recovered(socket: RoomsSocket) {
    const { service, store } = this.deps
    this.locals.set(socket.data.peerId, socket)
    // Seats given up at the drop (no token asked for): the page joins again as it always did, and,
    // holding no seat any more, as a new peer (as it would on a new connection).
    for (const m of memberships(socket.data)) {
      if (m.resumable) continue
      socket.data[m.kind] = null
      void leaveChannels(socket, m)
    }
    if (memberships(socket.data).length === 0) this.adoptPeerId(socket, newPeerId())
    for (const m of memberships(socket.data)) {
      const key = seatKey(m.roomId, socket.data.peerId)
      this.stopTimer(key)
      if (await service.markBack(m.roomId, socket.data.peerId, socket.id)) {
        const seat = this.seats.get(key)
        if (seat) seat.member = { ...seat.member, away: false }
        const member = seat?.member ?? (await store.member(m.roomId, socket.data.peerId))
        if (member) socket.to(roomChannel(m.roomId)).emit('peer:back', { roomId: m.roomId, peer: peerOf(member) })
      } else {
        // The seat was freed meanwhile: the page joins again by itself.
        socket.data[m.kind] = null
        this.release(m.roomId, socket.data.peerId)
        await socket.leave(roomChannel(m.roomId))
        socket.emit('room:closed', { roomId: m.roomId })
      }
    }
  }

  /** Another instance's device is gone for good (reaped): the room hears it. */
  async reaped(roomId: string, peerId: string, remaining: number) {
    this.deps.nsp.to(roomChannel(roomId)).emit('peer:left', { roomId, peerId })
    if ((await this.deps.service.endIfEmpty(roomId, remaining)) && !isLinkRoom(roomId)) this.deps.events.emit('roomClosed', { roomId })
  }

  /** A seat this instance put back after Redis lost it: its room hears of it (a known peer is just updated). */
  restored({ room, member }: { room: LocalSeat['room']; member: MemberRecord }) {
    this.deps.nsp.to(audience(room.id, member.role)).except(peerChannel(member.peerId)).emit('peer:joined', { roomId: room.id, peer: peerOf(member) })
  }

  stop() {
    for (const timer of this.held.values()) clearTimeout(timer)
    this.held.clear()
  }

  private async dropped(socket: RoomsSocket, m: Membership, deliberate: boolean) {
    const { service, nsp, logger } = this.deps
    const { peerId } = socket.data
    const conn = socket.id
    if (deliberate || !m.resumable) return this.free(m.roomId, peerId, conn, m.role)
    if (!(await service.markAway(m.roomId, peerId, conn))) return this.release(m.roomId, peerId)
    const key = seatKey(m.roomId, peerId)
    const seat = this.seats.get(key)
    if (seat) seat.member = { ...seat.member, away: true }
    nsp.to(roomChannel(m.roomId)).emit('peer:reconnecting', { roomId: m.roomId, peerId })
    const expire = () => {
      this.held.delete(key)
      service.expire(m.roomId, peerId, conn).then(
        ({ removed, ended }) => {
          if (this.seats.get(key)?.member.conn === conn) this.seats.delete(key)
          this.announceLeft(m.roomId, peerId, removed, ended)
        },
        (err: unknown) => {
          // Redis away: try again shortly rather than keep a ghost forever.
          logger.warn({ err: (err as Error).message }, 'rooms: could not free a held seat; retrying')
          this.held.set(key, setTimeout(expire, 2000).unref())
        },
      )
    }
    this.held.set(key, setTimeout(expire, this.deps.graceMs).unref())
  }

  private async free(roomId: string, peerId: string, conn: string, role?: LinkRole) {
    this.release(roomId, peerId)
    const { removed, ended } = await this.deps.service.leave(roomId, peerId, conn)
    this.announceLeft(roomId, peerId, removed, ended, role)
  }

  private announceLeft(roomId: string, peerId: string, removed: boolean, ended: boolean, role?: LinkRole) {
    if (removed) this.deps.nsp.to(audience(roomId, role)).emit('peer:left', { roomId, peerId })
    // Link rooms come and go with the pages of a link: they are no P2P rooms of the admin's activity feed.
    if (ended && !isLinkRoom(roomId)) this.deps.events.emit('roomClosed', { roomId })
  }

  private release(roomId: string, peerId: string) {
    const key = seatKey(roomId, peerId)
    this.seats.delete(key)
    this.stopTimer(key)
  }

  private stopTimer(key: string) {
    const timer = this.held.get(key)
    if (timer) clearTimeout(timer)
    this.held.delete(key)
  }
}

/** The socket stops hearing a room (and, a host, its link room's host events). */
function leaveChannels(socket: RoomsSocket, m: Membership): Promise<void> {
  return Promise.resolve(socket.leave(roomChannel(m.roomId))).then(() => (m.role === 'host' ? socket.leave(hostChannel(m.roomId)) : undefined))
}
