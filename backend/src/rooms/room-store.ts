/**
 * Room metadata (id, code, link secret, capacity) and member lists. In process memory for the
 * embedded single instance; in Redis (redis-room-store.ts) when several instances share rooms.
 * Both pass one contract (backend/test/rooms-store.test.ts).
 */

export interface RoomRecord {
  id: string
  code: string
  /** the link secret (≥128 bits); members may share the link, so every member gets it */
  secret: string
  capacity: number
  createdAt: number
}

export type AddMemberResult = { status: 'ok'; codeExpiresAt: number } | { status: 'full' } | { status: 'gone' }

export interface RoomStore {
  readonly kind: 'memory' | 'redis'
  /** Saves a new room with its code valid for `codeTtlMs`; false when the code is taken (draw another). */
  create(room: RoomRecord, codeTtlMs: number): Promise<boolean>
  /** The room a live (unexpired) code points to. */
  findByCode(code: string): Promise<RoomRecord | null>
  findBySecret(secret: string): Promise<RoomRecord | null>
  /** Adds a member unless the room is full or gone; a join keeps the code alive for another `codeTtlMs`. */
  addMember(roomId: string, peerId: string, codeTtlMs: number): Promise<AddMemberResult>
  /** Removes a member and answers how many remain. */
  removeMember(roomId: string, peerId: string): Promise<number>
  isMember(roomId: string, peerId: string): Promise<boolean>
  members(roomId: string): Promise<string[]>
  delete(roomId: string): Promise<void>
  close(): Promise<void>
}

interface MemoryRoom {
  record: RoomRecord
  members: Set<string>
  codeExpiresAt: number
}

export class MemoryRoomStore implements RoomStore {
  readonly kind = 'memory' as const
  private readonly rooms = new Map<string, MemoryRoom>()
  private readonly codes = new Map<string, string>()
  private readonly secrets = new Map<string, string>()

  constructor(private readonly now: () => number = Date.now) {}

  async create(room: RoomRecord, codeTtlMs: number): Promise<boolean> {
    const holder = this.codes.get(room.code)
    if (holder && this.liveCode(holder, room.code)) return false
    this.rooms.set(room.id, { record: { ...room }, members: new Set(), codeExpiresAt: this.now() + codeTtlMs })
    this.codes.set(room.code, room.id)
    this.secrets.set(room.secret, room.id)
    return true
  }

  async findByCode(code: string): Promise<RoomRecord | null> {
    const id = this.codes.get(code)
    if (!id || !this.liveCode(id, code)) return null
    return { ...this.rooms.get(id)!.record }
  }

  async findBySecret(secret: string): Promise<RoomRecord | null> {
    const id = this.secrets.get(secret)
    const room = id ? this.rooms.get(id) : undefined
    return room ? { ...room.record } : null
  }

  async addMember(roomId: string, peerId: string, codeTtlMs: number): Promise<AddMemberResult> {
    const room = this.rooms.get(roomId)
    if (!room) return { status: 'gone' }
    if (!room.members.has(peerId) && room.members.size >= room.record.capacity) return { status: 'full' }
    room.members.add(peerId)
    // The code is refreshed only while it still points to this room (an expired code may be reused).
    if (this.codes.get(room.record.code) === roomId) room.codeExpiresAt = this.now() + codeTtlMs
    return { status: 'ok', codeExpiresAt: room.codeExpiresAt }
  }

  async removeMember(roomId: string, peerId: string): Promise<number> {
    const room = this.rooms.get(roomId)
    if (!room) return 0
    room.members.delete(peerId)
    return room.members.size
  }

  async isMember(roomId: string, peerId: string): Promise<boolean> {
    return this.rooms.get(roomId)?.members.has(peerId) ?? false
  }

  async members(roomId: string): Promise<string[]> {
    return [...(this.rooms.get(roomId)?.members ?? [])]
  }

  async delete(roomId: string): Promise<void> {
    const room = this.rooms.get(roomId)
    if (!room) return
    this.rooms.delete(roomId)
    if (this.codes.get(room.record.code) === roomId) this.codes.delete(room.record.code)
    this.secrets.delete(room.record.secret)
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
