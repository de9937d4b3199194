/**
 * Rooms and nearby groups (id, code, link secret, capacity) and their members. In process memory
 * for the embedded single instance; in Redis (redis-room-store.ts) when several instances share
 * rooms. Both pass one contract (room-store.contract.ts).
 */

/**
 * A room is joined by code or link; a nearby group by being on its network (no code, no link); a
 * link room by a `direct` share's id (its owner's pages host it, its recipients join it).
 */
export type RoomKind = 'room' | 'nearby' | 'link'
/** In a link room: the owner's page, or a recipient (who sees and reaches only hosts). */
export type LinkRole = 'host' | 'recipient'

export interface RoomRecord {
  id: string
  kind: RoomKind
  /** empty for nearby groups */
  code: string
  /** the link secret (≥128 bits); members may share the link, so every member gets it; empty for nearby groups */
  secret: string
  capacity: number
  createdAt: number
}

export interface MemberRecord {
  peerId: string
  name: string
  device: string
  /** SHA-256 of the member's current reconnect token secret; '' when it has none (not resumable) */
  tokenHash: string
  /** the instance and the socket that hold the seat */
  instance: string
  conn: string
  /** its connection dropped: the seat is held for the grace period */
  away: boolean
  /** link rooms only */
  role?: LinkRole
}

/** Conditions a member must meet for a change to apply (compare-and-set). */
export type MemberMatch = Partial<Pick<MemberRecord, 'conn' | 'tokenHash' | 'instance' | 'away'>>
export type MemberPatch = Partial<Omit<MemberRecord, 'peerId'>>

export type AddMemberResult = { status: 'ok'; codeExpiresAt: number } | { status: 'full' } | { status: 'gone' }
export type UpdateResult = 'ok' | 'mismatch' | 'gone'

export interface Reaped {
  roomId: string
  peerId: string
  remaining: number
}

export interface RoomStore {
  readonly kind: 'memory' | 'redis'
  /** Saves a new room with its code valid for `codeTtlMs`; false when the code is taken (draw another). */
  create(room: RoomRecord, codeTtlMs: number): Promise<boolean>
  /** Saves a room without a code (a nearby group) unless it exists. */
  ensure(room: RoomRecord): Promise<void>
  get(roomId: string): Promise<RoomRecord | null>
  /** The room a live (unexpired) code points to. */
  findByCode(code: string): Promise<RoomRecord | null>
  findBySecret(secret: string): Promise<RoomRecord | null>
  /**
   * Adds a member unless the room is full or gone (a member with the same peer id is replaced and
   * uses no new seat); a join keeps the code alive for another `codeTtlMs`.
   */
  addMember(roomId: string, member: MemberRecord, codeTtlMs: number): Promise<AddMemberResult>
  member(roomId: string, peerId: string): Promise<MemberRecord | null>
  members(roomId: string): Promise<MemberRecord[]>
  isMember(roomId: string, peerId: string): Promise<boolean>
  /** Changes a member only if it matches `match` (all given fields equal). */
  updateMember(roomId: string, peerId: string, match: MemberMatch, patch: MemberPatch): Promise<UpdateResult>
  /** Removes a member if it matches `match`: how many remain, or null when nothing was removed. */
  removeMember(roomId: string, peerId: string, match?: MemberMatch): Promise<number | null>
  delete(roomId: string): Promise<void>
  /**
   * Puts a room and one member back after the store lost them (Redis flushed or restarted empty, or
   * this instance was declared dead): capacity is not checked, the code is kept if still free.
   * True when the member was missing.
   */
  restore(room: RoomRecord, member: MemberRecord, codeTtlMs: number): Promise<boolean>
  /**
   * Records that `instance` is alive. `known`: the store still knew it (false after a data loss, or
   * after others declared it dead); `epoch`: changes whenever the store lost its data.
   */
  heartbeat(instance: string, now: number): Promise<{ known: boolean; epoch: string }>
  /** Instances whose last heartbeat is older than `before`. */
  deadInstances(before: number): Promise<string[]>
  /** Which of `instances` sent a heartbeat at `since` or later. */
  aliveInstances(instances: string[], since: number): Promise<Set<string>>
  /** Removes the members a dead instance still holds (one caller wins across instances). */
  reap(instance: string): Promise<Reaped[]>
  close(): Promise<void>
}

interface MemoryRoom {
  record: RoomRecord
  members: Map<string, MemberRecord>
  codeExpiresAt: number
}

export function matches(member: MemberRecord, match: MemberMatch): boolean {
  return (Object.keys(match) as (keyof MemberMatch)[]).every((k) => member[k] === match[k])
}

/** One process, one instance: nothing to recover from and no other instance to outlive. */
export class MemoryRoomStore implements RoomStore {
  readonly kind = 'memory' as const
  private readonly rooms = new Map<string, MemoryRoom>()
  private readonly codes = new Map<string, string>()
  private readonly secrets = new Map<string, string>()

  constructor(private readonly now: () => number = Date.now) {}

  async create(room: RoomRecord, codeTtlMs: number): Promise<boolean> {
    const holder = this.codes.get(room.code)
    if (holder && this.liveCode(holder, room.code)) return false
    this.rooms.set(room.id, { record: { ...room }, members: new Map(), codeExpiresAt: this.now() + codeTtlMs })
    this.codes.set(room.code, room.id)
    this.secrets.set(room.secret, room.id)
    return true
  }

  async ensure(room: RoomRecord): Promise<void> {
    if (!this.rooms.has(room.id)) this.rooms.set(room.id, { record: { ...room }, members: new Map(), codeExpiresAt: 0 })
  }

  async get(roomId: string): Promise<RoomRecord | null> {
    const room = this.rooms.get(roomId)
    return room ? { ...room.record } : null
  }

  async findByCode(code: string): Promise<RoomRecord | null> {
    const id = this.codes.get(code)
    if (!id || !this.liveCode(id, code)) return null
    return { ...this.rooms.get(id)!.record }
  }

  async findBySecret(secret: string): Promise<RoomRecord | null> {
    const id = secret ? this.secrets.get(secret) : undefined
    const room = id ? this.rooms.get(id) : undefined
    return room ? { ...room.record } : null
  }

  async addMember(roomId: string, member: MemberRecord, codeTtlMs: number): Promise<AddMemberResult> {
    const room = this.rooms.get(roomId)
    if (!room) return { status: 'gone' }
    if (!room.members.has(member.peerId) && room.members.size >= room.record.capacity) return { status: 'full' }
    room.members.set(member.peerId, { ...member })
    // The code is refreshed only while it still points to this room (an expired code may be reused).
    if (room.record.code && this.codes.get(room.record.code) === roomId) room.codeExpiresAt = this.now() + codeTtlMs
    return { status: 'ok', codeExpiresAt: room.codeExpiresAt }
  }

  async member(roomId: string, peerId: string): Promise<MemberRecord | null> {
    const m = this.rooms.get(roomId)?.members.get(peerId)
    return m ? { ...m } : null
  }

  async members(roomId: string): Promise<MemberRecord[]> {
    return [...(this.rooms.get(roomId)?.members.values() ?? [])].map((m) => ({ ...m }))
  }

  async isMember(roomId: string, peerId: string): Promise<boolean> {
    return this.rooms.get(roomId)?.members.has(peerId) ?? false
  }

  async updateMember(roomId: string, peerId: string, match: MemberMatch, patch: MemberPatch): Promise<UpdateResult> {
    const m = this.rooms.get(roomId)?.members.get(peerId)
    if (!m) return 'gone'
    if (!matches(m, match)) return 'mismatch'
    Object.assign(m, patch)
    return 'ok'
  }

  async removeMember(roomId: string, peerId: string, match: MemberMatch = {}): Promise<number | null> {
    const room = this.rooms.get(roomId)
    const m = room?.members.get(peerId)
    if (!room || !m || !matches(m, match)) return null
    room.members.delete(peerId)
    return room.members.size
  }

  async delete(roomId: string): Promise<void> {
    const room = this.rooms.get(roomId)
    if (!room) return
    this.rooms.delete(roomId)
    if (room.record.code && this.codes.get(room.record.code) === roomId) this.codes.delete(room.record.code)
    if (room.record.secret) this.secrets.delete(room.record.secret)
  }

  async restore(room: RoomRecord, member: MemberRecord, codeTtlMs: number): Promise<boolean> {
    if (!this.rooms.has(room.id)) {
      const codeFree = room.code !== '' && !(this.codes.has(room.code) && this.liveCode(this.codes.get(room.code)!, room.code))
      this.rooms.set(room.id, { record: { ...room }, members: new Map(), codeExpiresAt: codeFree ? this.now() + codeTtlMs : 0 })
      if (codeFree) this.codes.set(room.code, room.id)
      if (room.secret) this.secrets.set(room.secret, room.id)
    }
    const members = this.rooms.get(room.id)!.members
    const missing = !members.has(member.peerId)
    members.set(member.peerId, { ...member })
    return missing
  }

  async heartbeat(): Promise<{ known: boolean; epoch: string }> {
    return { known: true, epoch: 'memory' }
  }

  async deadInstances(): Promise<string[]> {
    return []
  }

  async aliveInstances(instances: string[]): Promise<Set<string>> {
    return new Set(instances)
  }

  async reap(): Promise<Reaped[]> {
    return []
  }

  async close(): Promise<void> {
    this.rooms.clear()
    this.codes.clear()
    this.secrets.clear()
  }

  private liveCode(roomId: string, code: string): boolean {
    const room = this.rooms.get(roomId)
    if (room && room.codeExpiresAt > this.now()) return true
    // Expired: forget the code so it can be drawn again; the room itself lives on (link still works).
    if (this.codes.get(code) === roomId) this.codes.delete(code)
    return false
  }
}
