/**
 * Rooms across instances: the RoomStore contract on memory and real Redis, and two servers sharing
 * Redis (and PostgreSQL) where peers connected to different instances meet in one room.
 */
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { p2pRepo } from '../src/db/p2p.repo'
import { RedisRoomStore } from '../src/rooms/redis-room-store'
import { MemoryRoomStore } from '../src/rooms/room-store'
import { roomStoreContract } from '../src/rooms/room-store.contract'
import { startTestServer, type TestServer } from './support/harness'
import { collect, connectRooms, nextEvent, reportTransfer, sleep, type RoomsClient } from './support/rooms-client'
import { createDatabase, startPostgres, startRedis, type ServiceHandle } from './support/services'

let redis: ServiceHandle
let postgres: ServiceHandle
const clients: Redis[] = []

beforeAll(async () => {
  ;[redis, postgres] = await Promise.all([startRedis(), startPostgres()])
})
afterAll(async () => {
  for (const c of clients) c.disconnect()
  await Promise.all([redis?.stop(), postgres?.stop()])
})

roomStoreContract('memory', async () => new MemoryRoomStore())
roomStoreContract('redis', async () => {
  const client = new Redis(redis.url)
  clients.push(client)
  return new RedisRoomStore(client)
})

describe('two instances sharing Redis', () => {
  let one: TestServer
  let two: TestServer
  const sockets: RoomsClient[] = []

  beforeAll(async () => {
    const env = { REDIS_URL: redis.url, DATABASE_URL: await createDatabase(postgres.url, 'rooms_redis'), ROOM_CAPACITY: '2' }
    one = await startTestServer(env)
    two = await startTestServer(env)
  })
  afterAll(async () => {
    for (const s of sockets) s.disconnect()
    await Promise.all([one?.close(), two?.close()])
  })

  it('A on instance 1 and B on instance 2 meet in one room and exchange signals', async () => {
    const a = await connectRooms(one.url)
    const b = await connectRooms(two.url)
    sockets.push(a, b)
    const created = await a.emitWithAck('room:create', { name: 'A' })
    if (!created.ok) throw new Error(created.error.message)
    const seen = nextEvent(a, 'peer:joined')
    const joined = await b.emitWithAck('room:join', { code: created.room.code, name: 'B' })
    if (!joined.ok) throw new Error(joined.error.message)
    expect(joined.room.id).toBe(created.room.id)
    expect(joined.peers.map((p) => p.peerId)).toEqual([a.id])
    expect((await seen).peer).toMatchObject({ peerId: b.id, name: 'B' })

    const atA = nextEvent(a, 'signal')
    expect(await b.emitWithAck('signal', { to: a.id!, data: { sdp: 'offer' } })).toEqual({ ok: true })
    expect(await atA).toEqual({ from: b.id, data: { sdp: 'offer' } })
    const atB = nextEvent(b, 'signal')
    expect(await a.emitWithAck('signal', { to: b.id!, data: { sdp: 'answer' } })).toEqual({ ok: true })
    expect(await atB).toEqual({ from: a.id, data: { sdp: 'answer' } })

    // A stranger on instance 2 reaches no one in the room.
    const c = await connectRooms(two.url)
    sockets.push(c)
    const leaked = collect(a, 'signal')
    expect(await c.emitWithAck('signal', { to: a.id!, data: 'x' })).toMatchObject({ ok: false, error: { code: 'forbidden' } })

    // Live counters cover both instances.
    const stats = await one.realtime.roomsStats()
    expect(stats.peers).toBeGreaterThanOrEqual(2)
    expect(stats.sockets).toBeGreaterThanOrEqual(3)

    const left = nextEvent(a, 'peer:left')
    b.disconnect()
    expect((await left).peerId).toBeTruthy()
    await sleep(100)
    expect(leaked).toEqual([])
  })

  it('seats left taken by a crashed instance are freed when the room looks full', async () => {
    const a = await connectRooms(one.url)
    sockets.push(a)
    const created = await a.emitWithAck('room:create', {})
    if (!created.ok) throw new Error(created.error.message)
    // A member whose instance died without saying goodbye (capacity is 2: the room looks full).
    const raw = new Redis(redis.url)
    clients.push(raw)
    await raw.sadd(`p2p:members:${created.room.id}`, 'ghost-of-a-crashed-instance')
    const b = await connectRooms(two.url)
    const c = await connectRooms(one.url)
    sockets.push(b, c)
    const joined = await b.emitWithAck('room:join', { secret: created.room.secret })
    expect(joined.ok).toBe(true)
    expect(await raw.sismember(`p2p:members:${created.room.id}`, 'ghost-of-a-crashed-instance')).toBe(0)
    // Two live members now: really full.
    expect(await c.emitWithAck('room:join', { secret: created.room.secret })).toMatchObject({ ok: false, error: { code: 'room_full' } })
  })

  it('transfer reports from either instance land in the shared PostgreSQL database', async () => {
    const a = await connectRooms(two.url)
    sockets.push(a)
    const created = await a.emitWithAck('room:create', {})
    if (!created.ok) throw new Error(created.error.message)
    expect(await reportTransfer(a, { bytes: 1234, files: 1, ms: 50, status: 'cancelled' })).toEqual({ ok: true })
    const rows = await p2pRepo(one.deps.db).recent(10)
    expect(rows.find((r) => r.roomId === created.room.id)).toMatchObject({ bytes: 1234, files: 1, ms: 50, status: 'cancelled' })
    const totals = await p2pRepo(one.deps.db).totals(new Date(Date.now() - 60_000))
    expect(totals.transfers).toBeGreaterThanOrEqual(1)
  })
})
