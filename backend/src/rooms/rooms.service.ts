import { randomBytes, randomInt } from 'node:crypto'
import { linkRoomId, ROOM_CODE_ALPHABET, ROOM_CODE_LENGTH } from '@sharesync/protocol'
import type { Config } from '../config'
import { AppError } from '../http/app-error'
import type { Limits } from '../limits/limits'
import { nearbyGroupId } from './network-group'
import { issueToken, parseToken } from './reconnect-token'
import type { LinkRole, MemberRecord, RoomKind, RoomRecord, RoomStore } from './room-store'
import type { TransferStats } from './transfer-ledger'

/** Who is asking: the address their limits count under. */
export interface RoomsCaller {
  ip: string
}

/** The seat a socket asks for. */
export interface SeatRequest {
  peerId: string
  name: string
  device: string
  /** the socket that will hold it */
  conn: string
  /** ask for a reconnect token (the seat is then held for a grace period after a disconnect) */
  resumable: boolean
}

/** A socket in a room or nearby group. */
export interface Entered {
  room: RoomRecord
  /** when the room's code stops working (0 for nearby groups) */
  codeExpiresAt: number
  self: MemberRecord
  /** the other members */
  peers: MemberRecord[]
  /** a fresh reconnect token, for resumable members */
  token?: string
  /** resumed: the connection that held the seat before, and whether it had been announced away */
  previous?: { conn: string; instance: string; away: boolean }
}

export type JoinBy = { code: string } | { secret: string }

export interface ReportSink {
  insertReport(r: TransferStats & { roomId: string; senderUserId: string | null }): Promise<unknown>
}

/** Keeps an empty room while it holds files (room-files.service.ts), for those who join later. */
export interface RoomKeeper {
  /** when the room's last file expires (ms), or null when it holds none */
  keptUntil(roomId: string): Promise<number | null>
  /** a kept room ended once its files were gone */
  ended(roomId: string): void
}

export interface RoomsServiceDeps {
  store: RoomStore
  limits: Pick<Limits, 'consume'>
  reports: ReportSink
  rules: Config['rooms']
  /** this server instance (seats record where their socket lives) */
  instance: string
  /** keys nearby group ids (the same on every instance) */
  nearbyKey: string
  keeper?: RoomKeeper
}

const roomNotFound = () => new AppError('room_not_found', 'This room code or link is wrong, or the room has ended.')
const resumeRefused = (why: string) => new AppError('resume_refused', `${why} Join again by the room's link.`)

/**
 * The rules of rooms and nearby groups: codes and links, capacity, seats held across reconnects,
 * who may reach whom, when a room ends. Sockets stay outside (rooms.socket.ts): this takes plain
 * values, so its tests run in milliseconds on the memory store.
 */
export class RoomsService {
  readonly store: RoomStore
  private readonly rules: Config['rooms']
  /** kept empty rooms: when to look again whether they can end */
  private readonly rechecks = new Map<string, NodeJS.Timeout>()

  constructor(private readonly deps: RoomsServiceDeps) {
    this.store = deps.store
    this.rules = deps.rules
  }

  get instance(): string {
    return this.deps.instance
  }

  private get codeTtlMs() {
    return this.rules.codeTtl * 1000
  }

  async create(caller: RoomsCaller, seat: SeatRequest): Promise<Entered> {
    await this.deps.limits.consume('roomCreate', `ip:${caller.ip}`)
    // 31^6 ≈ 887 M codes: a collision among live rooms is rare, and simply draws again.
    for (let attempt = 0; attempt < 8; attempt++) {
      const room: RoomRecord = {
        id: randomBytes(12).toString('base64url'),
        kind: 'room',
        code: randomCode(),
        secret: randomBytes(18).toString('base64url'),
        capacity: this.rules.capacity,
        createdAt: Date.now(),
      }
      if (!(await this.store.create(room, this.codeTtlMs))) continue
      return this.admit(room, seat)
    }
    throw new AppError('conflict', 'Could not allocate a room code, please try again.')
  }

  async join(caller: RoomsCaller, by: JoinBy, seat: SeatRequest): Promise<Entered> {
    let room: RoomRecord | null
    if ('code' in by) {
      // Codes are short enough to guess: attempts count per client address, hits and misses alike.
      await this.deps.limits.consume('roomJoin', `ip:${caller.ip}`)
      room = await this.store.findByCode(by.code)
    } else {
      room = await this.store.findBySecret(by.secret)
    }
    if (!room || room.kind !== 'room') throw roomNotFound()
    return this.admit(room, seat)
  }

  /** The nearby group of `network` (see network-group.ts); with `token`, as the same peer as before. */
  async joinNearby(network: string, seat: SeatRequest, token?: string): Promise<Entered> {
    const group: RoomRecord = { id: nearbyGroupId(network, this.deps.nearbyKey), kind: 'nearby', code: '', secret: '', capacity: this.rules.nearbyCapacity, createdAt: Date.now() }
    if (token !== undefined) {
      const parsed = parseToken(token)
      // A token of another network (the device moved) or of a room never resumes here.
      if (!parsed || parsed.roomId !== group.id) throw new AppError('resume_refused', 'This reconnect token is not valid on this network. Join without it.')
      return this.resumeParsed(parsed, seat.conn, 'nearby')
    }
    await this.store.ensure(group)
    return this.admit((await this.store.get(group.id)) ?? group, seat)
  }

  /**
   * The link room of a `direct` share (whoever may enter was checked by the caller: the owner for
   * `host`, a recipient who passed the share's password for `recipient`). Seats are not resumable: a
   * page that comes back simply enters again. `peers` are whom the ack lists: the recipients for a
   * host, the hosts for a recipient.
   */
  async enterLink(shareId: string, role: LinkRole, seat: SeatRequest): Promise<Entered> {
    const link: RoomRecord = { id: linkRoomId(shareId), kind: 'link', code: '', secret: '', capacity: this.rules.nearbyCapacity, createdAt: Date.now() }
    await this.store.ensure(link)
    const room = (await this.store.get(link.id)) ?? link
    if (room.kind !== 'link') throw roomNotFound()
    const entered = await this.admit(room, { ...seat, resumable: false }, role)
    return { ...entered, peers: entered.peers.filter((m) => (role === 'host' ? m.role !== 'host' : m.role === 'host')) }
  }

  /** Whether a host (an owner's page) is seated in the share's link room now. */
  async linkOnline(shareId: string): Promise<boolean> {
    return (await this.store.members(linkRoomId(shareId))).some((m) => m.role === 'host' && !m.away)
  }

  /** Back into a room as the peer a reconnect token names; the token is spent, a new one returned. */
  async resume(token: string, conn: string): Promise<Entered> {
    const parsed = parseToken(token)
    if (!parsed) throw resumeRefused('This reconnect token is not valid.')
    return this.resumeParsed(parsed, conn, 'room')
  }

  private async resumeParsed(parsed: NonNullable<ReturnType<typeof parseToken>>, conn: string, kind: RoomKind): Promise<Entered> {
    const room = await this.store.get(parsed.roomId)
    if (!room || room.kind !== kind) throw kind === 'room' ? roomNotFound() : new AppError('resume_refused', 'This nearby seat is gone. Join without the token.')
    const held = await this.store.member(room.id, parsed.peerId)
    if (!held || held.tokenHash !== parsed.hash) throw resumeRefused('This reconnect token was used already or has expired.')
    const next = issueToken(room.id, parsed.peerId)
    // Compare-and-set on the token: of two resumes racing with one token, one wins.
    const updated = await this.store.updateMember(room.id, parsed.peerId, { tokenHash: parsed.hash, conn: held.conn }, { tokenHash: next.hash, conn, instance: this.deps.instance, away: false })
    if (updated !== 'ok') throw resumeRefused('This reconnect token was used already or has expired.')
    const self: MemberRecord = { ...held, tokenHash: next.hash, conn, instance: this.deps.instance, away: false }
    const peers = (await this.store.members(room.id)).filter((m) => m.peerId !== self.peerId)
    return { room, codeExpiresAt: 0, self, peers, token: next.token, previous: { conn: held.conn, instance: held.instance, away: held.away } }
  }

  /** Gives the seat up now (room:leave, nearby:leave, a deliberate disconnect). */
  async leave(roomId: string, peerId: string, conn: string): Promise<{ removed: boolean; ended: boolean }> {
    return this.removeSeat(roomId, peerId, { conn })
  }

  /** The seat's connection dropped: hold it. False when the seat is not this connection's any more. */
  async markAway(roomId: string, peerId: string, conn: string): Promise<boolean> {
    return (await this.store.updateMember(roomId, peerId, { conn, away: false }, { away: true })) === 'ok'
  }

  /** The same connection came back (Socket.IO connection state recovery). */
  async markBack(roomId: string, peerId: string, conn: string): Promise<boolean> {
    return (await this.store.updateMember(roomId, peerId, { conn }, { away: false, instance: this.deps.instance })) === 'ok'
  }

  /** The grace period is over: frees the seat unless it was resumed meanwhile. */
  async expire(roomId: string, peerId: string, conn: string): Promise<{ removed: boolean; ended: boolean }> {
    return this.removeSeat(roomId, peerId, { conn, away: true })
  }

  /**
   * A room ends with its last member (nearby groups too: they are made again on demand), unless it
   * holds files left in it: then it is kept, joinable by its link, until they expire.
   */
  async endIfEmpty(roomId: string, remaining: number): Promise<boolean> {
    if (remaining > 0) return false
    const until = this.deps.keeper ? await this.deps.keeper.keptUntil(roomId) : null
    if (until !== null && until > Date.now()) {
      this.recheckAt(roomId, until)
      return false
    }
    await this.store.delete(roomId)
    return true
  }

  /** Stops the timers of kept rooms (shutdown; the store's own expiry cleans up after a crash). */
  stop(): void {
    for (const timer of this.rechecks.values()) clearTimeout(timer)
    this.rechecks.clear()
  }

  private recheckAt(roomId: string, at: number) {
    clearTimeout(this.rechecks.get(roomId))
    const recheck = async () => {
      this.rechecks.delete(roomId)
      if (await this.endIfEmpty(roomId, (await this.store.members(roomId)).length)) this.deps.keeper?.ended(roomId)
    }
    const timer = setTimeout(() => void recheck().catch(() => undefined), Math.min(Math.max(0, at - Date.now()) + 1000, 2 ** 31 - 1))
    this.rechecks.set(roomId, timer.unref())
  }

  /** Which of `roomIds` (the sender's room and nearby group) `to` is a member of, if any. */
  async sharedRoom(roomIds: string[], from: string, to: string): Promise<string | null> {
    if (from === to) return null
    for (const roomId of roomIds) {
      if (roomId.startsWith(linkRoomId(''))) {
        // A link room connects a recipient with a host, never two recipients (nor two hosts).
        const [a, b] = await Promise.all([this.store.member(roomId, from), this.store.member(roomId, to)])
        if (a && b && (a.role === 'host') !== (b.role === 'host')) return roomId
        continue
      }
      if (await this.store.isMember(roomId, to)) return roomId
    }
    return null
  }

  async report(roomId: string, senderUserId: string | null, report: TransferStats): Promise<void> {
    await this.deps.reports.insertReport({ roomId, senderUserId, ...report })
  }

  private async removeSeat(roomId: string, peerId: string, match: { conn: string; away?: boolean }) {
    const remaining = await this.store.removeMember(roomId, peerId, match)
    if (remaining === null) return { removed: false, ended: false }
    return { removed: true, ended: await this.endIfEmpty(roomId, remaining) }
  }

  /**
   * A room that looks full may hold seats of an instance that died before anyone reaped it: those
   * whose instance sent no heartbeat for three periods are freed. Answers whether any were.
   */
  private async dropDeadSeats(roomId: string): Promise<boolean> {
    const members = await this.store.members(roomId)
    const alive = await this.store.aliveInstances([...new Set(members.map((m) => m.instance))], Date.now() - 3 * this.rules.heartbeat * 1000)
    alive.add(this.deps.instance)
    let dropped = false
    for (const m of members) {
      if (alive.has(m.instance)) continue
      if ((await this.store.removeMember(roomId, m.peerId, { instance: m.instance })) !== null) dropped = true
    }
    return dropped
  }

  private async admit(room: RoomRecord, seat: SeatRequest, role?: LinkRole): Promise<Entered> {
    const issued = seat.resumable ? issueToken(room.id, seat.peerId) : null
    const self: MemberRecord = {
      peerId: seat.peerId,
      name: seat.name,
      device: seat.device,
      tokenHash: issued?.hash ?? '',
      instance: this.deps.instance,
      conn: seat.conn,
      away: false,
      ...(role ? { role } : {}),
    }
    let added = await this.store.addMember(room.id, self, this.codeTtlMs)
    if (added.status === 'full' && (await this.dropDeadSeats(room.id))) added = await this.store.addMember(room.id, self, this.codeTtlMs)
    if (added.status === 'full') throw new AppError('room_full', fullMessage(room))
    if (added.status === 'gone') throw roomNotFound()
    const peers = (await this.store.members(room.id)).filter((m) => m.peerId !== seat.peerId)
    return { room, codeExpiresAt: added.codeExpiresAt, self, peers, ...(issued ? { token: issued.token } : {}) }
  }
}

function fullMessage(room: RoomRecord): string {
  if (room.kind === 'room') return `This room is full (${room.capacity} devices).`
  if (room.kind === 'link') return `Too many devices are on this link right now (${room.capacity}); try again in a moment.`
  return `Too many devices on this network (${room.capacity}).`
}

export function randomCode(): string {
  let code = ''
  for (let i = 0; i < ROOM_CODE_LENGTH; i++) code += ROOM_CODE_ALPHABET[randomInt(ROOM_CODE_ALPHABET.length)]
  return code
}
