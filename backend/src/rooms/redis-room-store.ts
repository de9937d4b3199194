import { createHash, randomBytes } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { AddMemberResult, MemberMatch, MemberPatch, MemberRecord, Reaped, RoomRecord, RoomStore, UpdateResult } from './room-store'

/** Rooms outlive no instance for long: every key expires a day after the last join. */
const ROOM_TTL_MS = 24 * 3600 * 1000
/** One instance reaps a dead one; the claim lapses if that instance dies meanwhile. */
const REAP_CLAIM_MS = 30_000

const key = {
  room: (id: string) => `p2p:room:${id}`,
  // A hash peerId -> member JSON (the former `p2p:members:` sets are left to expire).
  peers: (id: string) => `p2p:peers:${id}`,
  code: (code: string) => `p2p:code:${code}`,
  // keyed by a hash so that listing keys does not list working links
  secret: (secret: string) => `p2p:secret:${createHash('sha256').update(secret).digest('base64url')}`,
  instances: 'p2p:instances',
  /** "roomId peerId" of every seat an instance holds, so that others can free them if it dies */
  instanceSeats: (instance: string) => `p2p:inst:${instance}`,
  epoch: 'p2p:epoch',
  reapClaim: (instance: string) => `p2p:reap:${instance}`,
}

// Shared Lua: does member `m` (a decoded table) match every field of `want`?
const MATCHES = `
local function matches(m, want)
  for k, v in pairs(want) do
    if m[k] ~= v then return false end
  end
  return true
end
`

// Membership and capacity change in one step, so two instances cannot both admit the last seat.
const ADD_MEMBER = `
local cap = redis.call('HGET', KEYS[1], 'capacity')
if not cap then return {'gone', 0} end
local peerId = ARGV[1]
local current = redis.call('HGET', KEYS[2], peerId)
if not current and redis.call('HLEN', KEYS[2]) >= tonumber(cap) then return {'full', 0} end
local member = cjson.decode(ARGV[2])
if current then
  local old = cjson.decode(current)
  if old.instance ~= member.instance then redis.call('SREM', 'p2p:inst:' .. old.instance, ARGV[5] .. ' ' .. peerId) end
end
redis.call('HSET', KEYS[2], peerId, ARGV[2])
redis.call('SADD', KEYS[5], ARGV[5] .. ' ' .. peerId)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
if ARGV[6] == '1' then
  redis.call('PEXPIRE', KEYS[4], ARGV[4])
  if redis.call('GET', KEYS[3]) == ARGV[5] then redis.call('PEXPIRE', KEYS[3], ARGV[3]) end
  return {'ok', redis.call('PTTL', KEYS[3])}
end
return {'ok', 0}
`

const UPDATE_MEMBER = `${MATCHES}
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then return 'gone' end
local m = cjson.decode(current)
if not matches(m, cjson.decode(ARGV[2])) then return 'mismatch' end
local patch = cjson.decode(ARGV[3])
if patch.instance and patch.instance ~= m.instance then
  redis.call('SREM', 'p2p:inst:' .. m.instance, ARGV[4] .. ' ' .. ARGV[1])
  redis.call('SADD', 'p2p:inst:' .. patch.instance, ARGV[4] .. ' ' .. ARGV[1])
end
for k, v in pairs(patch) do m[k] = v end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(m))
return 'ok'
`

const REMOVE_MEMBER = `${MATCHES}
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then return -1 end
local m = cjson.decode(current)
if not matches(m, cjson.decode(ARGV[2])) then return -1 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('SREM', 'p2p:inst:' .. m.instance, ARGV[3] .. ' ' .. ARGV[1])
return redis.call('HLEN', KEYS[1])
`

const DELETE_ROOM = `
for _, json in ipairs(redis.call('HVALS', KEYS[2])) do
  local m = cjson.decode(json)
  redis.call('SREM', 'p2p:inst:' .. m.instance, ARGV[1] .. ' ' .. m.peerId)
end
if ARGV[2] == '1' and redis.call('GET', KEYS[3]) == ARGV[1] then redis.call('DEL', KEYS[3]) end
redis.call('DEL', KEYS[1], KEYS[2])
if ARGV[2] == '1' then redis.call('DEL', KEYS[4]) end
return 1
`

const RESTORE = `
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'json', ARGV[1], 'capacity', ARGV[2])
end
if ARGV[8] == '1' then
  redis.call('SET', KEYS[3], ARGV[7], 'PX', ARGV[5], 'NX')
  redis.call('SET', KEYS[4], ARGV[7], 'PX', ARGV[6])
end
local missing = redis.call('HEXISTS', KEYS[2], ARGV[3]) == 0
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
redis.call('SADD', KEYS[5], ARGV[7] .. ' ' .. ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
if missing then return 1 end
return 0
`

const HEARTBEAT = `
local known = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  redis.call('SET', KEYS[2], ARGV[3])
  epoch = ARGV[3]
end
redis.call('PEXPIRE', KEYS[3], ARGV[4])
if known then return {1, epoch} end
return {0, epoch}
`

const encodeMember = (m: MemberRecord) => JSON.stringify(m)

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

  async ensure(room: RoomRecord): Promise<void> {
    await this.redis.multi().hsetnx(key.room(room.id), 'json', JSON.stringify(room)).hsetnx(key.room(room.id), 'capacity', String(room.capacity)).pexpire(key.room(room.id), ROOM_TTL_MS).exec()
  }

  async get(roomId: string): Promise<RoomRecord | null> {
    const json = await this.redis.hget(key.room(roomId), 'json')
    return json ? (JSON.parse(json) as RoomRecord) : null
  }

  async findByCode(code: string): Promise<RoomRecord | null> {
    const id = await this.redis.get(key.code(code))
    return id ? this.get(id) : null
  }

  async findBySecret(secret: string): Promise<RoomRecord | null> {
    if (!secret) return null
    const id = await this.redis.get(key.secret(secret))
    return id ? this.get(id) : null
  }

  async addMember(roomId: string, member: MemberRecord, codeTtlMs: number): Promise<AddMemberResult> {
    const room = await this.get(roomId)
    if (!room) return { status: 'gone' }
    const hasCode = room.code !== ''
    const [status, pttl] = (await this.redis.eval(
      ADD_MEMBER,
      5,
      key.room(roomId),
      key.peers(roomId),
      key.code(room.code),
      key.secret(room.secret),
      key.instanceSeats(member.instance),
      member.peerId,
      encodeMember(member),
      codeTtlMs,
      ROOM_TTL_MS,
      roomId,
      hasCode ? '1' : '0',
    )) as [string, number]
    if (status === 'full') return { status: 'full' }
    if (status !== 'ok') return { status: 'gone' }
    return { status: 'ok', codeExpiresAt: hasCode ? Date.now() + Math.max(0, pttl) : 0 }
  }

  async member(roomId: string, peerId: string): Promise<MemberRecord | null> {
    const json = await this.redis.hget(key.peers(roomId), peerId)
    return json ? (JSON.parse(json) as MemberRecord) : null
  }

  async members(roomId: string): Promise<MemberRecord[]> {
    return (await this.redis.hvals(key.peers(roomId))).map((json) => JSON.parse(json) as MemberRecord)
  }

  async isMember(roomId: string, peerId: string): Promise<boolean> {
    return (await this.redis.hexists(key.peers(roomId), peerId)) === 1
  }

  async updateMember(roomId: string, peerId: string, match: MemberMatch, patch: MemberPatch): Promise<UpdateResult> {
    return (await this.redis.eval(UPDATE_MEMBER, 1, key.peers(roomId), peerId, JSON.stringify(match), JSON.stringify(patch), roomId)) as UpdateResult
  }

  async removeMember(roomId: string, peerId: string, match: MemberMatch = {}): Promise<number | null> {
    const remaining = (await this.redis.eval(REMOVE_MEMBER, 1, key.peers(roomId), peerId, JSON.stringify(match), roomId)) as number
    return remaining < 0 ? null : remaining
  }

  async delete(roomId: string): Promise<void> {
    const room = await this.get(roomId)
    const hasCode = room !== null && room.code !== ''
    await this.redis.eval(DELETE_ROOM, 4, key.room(roomId), key.peers(roomId), key.code(room?.code ?? ''), key.secret(room?.secret ?? ''), roomId, hasCode ? '1' : '0')
  }

  async restore(room: RoomRecord, member: MemberRecord, codeTtlMs: number): Promise<boolean> {
    const hasCode = room.code !== ''
    const missing = (await this.redis.eval(
      RESTORE,
      5,
      key.room(room.id),
      key.peers(room.id),
      key.code(room.code),
      key.secret(room.secret),
      key.instanceSeats(member.instance),
      JSON.stringify(room),
      String(room.capacity),
      member.peerId,
      encodeMember(member),
      codeTtlMs,
      ROOM_TTL_MS,
      room.id,
      hasCode ? '1' : '0',
    )) as number
    return missing === 1
  }

  async heartbeat(instance: string, now: number): Promise<{ known: boolean; epoch: string }> {
    const [known, epoch] = (await this.redis.eval(HEARTBEAT, 3, key.instances, key.epoch, key.instanceSeats(instance), instance, now, randomBytes(9).toString('base64url'), ROOM_TTL_MS)) as [number, string]
    return { known: known === 1, epoch }
  }

  async deadInstances(before: number): Promise<string[]> {
    return this.redis.zrangebyscore(key.instances, '-inf', `(${before}`)
  }

  async aliveInstances(instances: string[], since: number): Promise<Set<string>> {
    if (instances.length === 0) return new Set()
    const scores = await this.redis.zmscore(key.instances, ...instances)
    return new Set(instances.filter((_, i) => scores[i] !== null && Number(scores[i]) >= since))
  }

  async reap(instance: string): Promise<Reaped[]> {
    if ((await this.redis.set(key.reapClaim(instance), '1', 'PX', REAP_CLAIM_MS, 'NX')) !== 'OK') return []
    const reaped: Reaped[] = []
    for (const seat of await this.redis.smembers(key.instanceSeats(instance))) {
      const [roomId, peerId] = seat.split(' ') as [string, string]
      // Only seats still held by the dead instance: a member that resumed elsewhere moved on.
      const remaining = await this.removeMember(roomId, peerId, { instance })
      if (remaining !== null) reaped.push({ roomId, peerId, remaining })
    }
    // Done: the claim goes too, so that the instance can be reaped again if it comes back and dies.
    await this.redis.multi().del(key.instanceSeats(instance)).zrem(key.instances, instance).del(key.reapClaim(instance)).exec()
    return reaped
  }

  async close(): Promise<void> {
    // The Redis client belongs to the server's deps; it is closed there.
  }
}
