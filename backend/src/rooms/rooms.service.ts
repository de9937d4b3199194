import { randomBytes, randomInt } from 'node:crypto'
import { ROOM_CODE_ALPHABET, ROOM_CODE_LENGTH } from '@sharesync/protocol'
import type { Config } from '../config'
import { p2pRepo } from '../db/p2p.repo'
import type { Deps } from '../deps'
import { AppError } from '../http/app-error'
import type { Limits } from '../limits/limits'
import type { RoomRecord, RoomStore } from './room-store'
import type { TransferStats } from './transfer-ledger'

/** Who is asking: one socket of the /rooms namespace. */
export interface RoomsCaller {
  peerId: string
  ip: string
}

export interface Admitted {
  room: RoomRecord
  codeExpiresAt: number
}

export type JoinBy = { code: string } | { secret: string }

const roomNotFound = () => new AppError('room_not_found', 'This room code or link is wrong, or the room has ended.')

/** The rules of rooms: codes and links, capacity, who may signal whom, when a room ends. */
export class RoomsService {
  private readonly reports: ReturnType<typeof p2pRepo>
  private readonly limits: Limits
  private readonly rules: Config['rooms']

  constructor(
    deps: Pick<Deps, 'db' | 'limits' | 'config'>,
    readonly store: RoomStore,
    /** which of these peers are connected to some instance (to drop members of a crashed one) */
    private readonly connected?: (peerIds: string[]) => Promise<string[]>,
  ) {
    this.reports = p2pRepo(deps.db)
    this.limits = deps.limits
    this.rules = deps.config.rooms
  }

  private get codeTtlMs() {
    return this.rules.codeTtl * 1000
  }

  async create(caller: RoomsCaller): Promise<Admitted> {
    await this.limits.consume('roomCreate', `ip:${caller.ip}`)
    // 31^6 ≈ 887 M codes: a collision among live rooms is rare, and simply draws again.
    for (let attempt = 0; attempt < 8; attempt++) {
      const room: RoomRecord = {
        id: randomBytes(12).toString('base64url'),
        code: randomCode(),
        secret: randomBytes(18).toString('base64url'),
        capacity: this.rules.capacity,
        createdAt: Date.now(),
      }
      if (!(await this.store.create(room, this.codeTtlMs))) continue
      return this.admit(room, caller)
    }
    throw new AppError('conflict', 'Could not allocate a room code, please try again.')
  }

  async join(caller: RoomsCaller, by: JoinBy): Promise<Admitted> {
    let room: RoomRecord | null
    if ('code' in by) {
      // Codes are short enough to guess: attempts count per client address, hits and misses alike.
      await this.limits.consume('roomJoin', `ip:${caller.ip}`)
      room = await this.store.findByCode(by.code)
    } else {
      room = await this.store.findBySecret(by.secret)
    }
    if (!room) throw roomNotFound()
    return this.admit(room, caller)
  }

  /** Removes the caller from the room; the room ends with its last member. */
  async leave(roomId: string, peerId: string): Promise<{ ended: boolean }> {
    const remaining = await this.store.removeMember(roomId, peerId)
    if (remaining > 0) return { ended: false }
    await this.store.delete(roomId)
    return { ended: true }
  }

  /** A signal may only reach another member of the sender's own room. */
  async mayRelay(roomId: string | null, from: string, to: string): Promise<boolean> {
    if (!roomId || from === to) return false
    return this.store.isMember(roomId, to)
  }

  async report(roomId: string, senderUserId: string | null, report: TransferStats): Promise<void> {
    await this.reports.insertReport({ roomId, senderUserId, ...report })
  }

  /**
   * An instance that crashed never said goodbye for its sockets: their seats stay taken in Redis.
   * When a room looks full, members no instance knows are removed. Answers whether any were.
   */
  private async dropStaleMembers(roomId: string): Promise<boolean> {
    if (!this.connected) return false
    const members = await this.store.members(roomId)
    const live = new Set(await this.connected(members))
    const stale = members.filter((m) => !live.has(m))
    for (const m of stale) await this.store.removeMember(roomId, m)
    return stale.length > 0
  }

  private async admit(room: RoomRecord, caller: RoomsCaller): Promise<Admitted> {
    let added = await this.store.addMember(room.id, caller.peerId, this.codeTtlMs)
    if (added.status === 'full' && (await this.dropStaleMembers(room.id))) added = await this.store.addMember(room.id, caller.peerId, this.codeTtlMs)
    if (added.status === 'full') throw new AppError('room_full', `This room is full (${room.capacity} devices).`)
    if (added.status === 'gone') throw roomNotFound()
    return { room, codeExpiresAt: added.codeExpiresAt }
  }
}

export function randomCode(): string {
  let code = ''
  for (let i = 0; i < ROOM_CODE_LENGTH; i++) code += ROOM_CODE_ALPHABET[randomInt(ROOM_CODE_ALPHABET.length)]
  return code
}
