import { createHash } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { AddMemberResult, RoomRecord, RoomStore } from './room-store'

/** Rooms outlive no instance for long: every key expires a day after the last join. */
const ROOM_TTL_MS = 24 * 3600 * 1000

const key = {
  room: (id: string) => `p2p:room:${id}`,
  members: (id: string) => `p2p:members:${id}`,
  code: (code: string) => `p2p:code:${code}`,
  // keyed by a hash so that listing keys does not list working links
  secret: (secret: string) => `p2p:secret:${createHash('sha256').update(secret).digest('base64url')}`,
}

// Membership and capacity change in one step, so two instances cannot both admit the last seat.
const ADD_MEMBER = `
local cap = redis.call('HGET', KEYS[1], 'capacity')
if not cap then return {'gone', 0} end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 and redis.call('SCARD', KEYS[2]) >= tonumber(cap) then return {'full', 0} end
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('PEXPIRE', KEYS[4], ARGV[3])
if redis.call('GET', KEYS[3]) == ARGV[4] then redis.call('PEXPIRE', KEYS[3], ARGV[2]) end
return {'ok', redis.call('PTTL', KEYS[3])}
`

const DELETE_ROOM = `
if redis.call('GET', KEYS[3]) == ARGV[1] then redis.call('DEL', KEYS[3]) end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[4])
return 1
`

export class RedisRoomStore implements RoomStore {
  readonly kind = 'redis' as const

  constructor(private readonly redis: Redis) {}

  async create(room: RoomRecord, codeTtlMs: number): Promise<boolean> {
    const taken = await this.redis.set(key.code(room.code), room.id, 'PX', codeTtlMs, 'NX')
    if (taken !== 'OK') return false
    await this.redis
      .multi()
      .hset(key.room(room.id), { json: JSON.stringify(room), capacity: String(room.capacity) })
      .pexpire(key.room(room.id), ROOM_TTL_MS)
      .set(key.secret(room.secret), room.id, 'PX', ROOM_TTL_MS)
      .exec()
    return true
  }

  async findByCode(code: string): Promise<RoomRecord | null> {
    const id = await this.redis.get(key.code(code))
    return id ? this.byId(id) : null
  }

  async findBySecret(secret: string): Promise<RoomRecord | null> {
    const id = await this.redis.get(key.secret(secret))
    return id ? this.byId(id) : null
  }

  async addMember(roomId: string, peerId: string, codeTtlMs: number): Promise<AddMemberResult> {
    const room = await this.byId(roomId)
    if (!room) return { status: 'gone' }
    const [status, pttl] = (await this.redis.eval(
      ADD_MEMBER,
      4,
      key.room(roomId),
      key.members(roomId),
      key.code(room.code),
      key.secret(room.secret),
      peerId,
      codeTtlMs,
      ROOM_TTL_MS,
      roomId,
    )) as [string, number]
    if (status === 'full') return { status: 'full' }
    if (status !== 'ok') return { status: 'gone' }
    return { status: 'ok', codeExpiresAt: Date.now() + Math.max(0, pttl) }
  }

  async removeMember(roomId: string, peerId: string): Promise<number> {
    const [, remaining] = (await this.redis.multi().srem(key.members(roomId), peerId).scard(key.members(roomId)).exec()) ?? []
    return Number(remaining?.[1] ?? 0)
  }

  async isMember(roomId: string, peerId: string): Promise<boolean> {
    return (await this.redis.sismember(key.members(roomId), peerId)) === 1
  }

  async members(roomId: string): Promise<string[]> {
    return this.redis.smembers(key.members(roomId))
  }

  async delete(roomId: string): Promise<void> {
    const room = await this.byId(roomId)
    if (!room) {
      await this.redis.del(key.members(roomId))
      return
    }
    await this.redis.eval(DELETE_ROOM, 4, key.room(roomId), key.members(roomId), key.code(room.code), key.secret(room.secret), roomId)
  }

  async close(): Promise<void> {
    // The Redis client belongs to the server's deps; it is closed there.
  }

  private async byId(id: string): Promise<RoomRecord | null> {
    const json = await this.redis.hget(key.room(id), 'json')
    return json ? (JSON.parse(json) as RoomRecord) : null
  }
}
