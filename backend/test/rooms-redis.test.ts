/**
 * Rooms across instances: the RoomStore contract on memory and real Redis; two servers sharing
 * Redis (and PostgreSQL) where peers connected to different instances meet in one room; Redis
 * losing its data (FLUSHALL, a restart without persistence); an instance frozen (SIGSTOP) or killed.
 */
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { p2pRepo } from '../src/db/p2p.repo'
import { RedisRoomStore } from '../src/rooms/redis-room-store'
import { MemoryRoomStore } from '../src/rooms/room-store'
import { roomStoreContract } from '../src/rooms/room-store.contract'
import { apiOf, uploadShare } from './support/browser-upload'
import { startTestServer, type TestServer } from './support/harness'
import { collect, connectRooms, dropConnection, nextEvent, relayBytes, reportTransfer, sleep, until, type RoomsClient } from './support/rooms-client'
import { startServerProcess, type ServerProcess } from './support/server-process'
import { createDatabase, startPostgres, startRedis, type ServiceHandle } from './support/services'

let redis: ServiceHandle
let postgres: ServiceHandle
const clients: Redis[] = []
const raw = () => {
  const c = new Redis(redis.url)
  clients.push(c)
  return c
}

beforeAll(async () => {
  ;[redis, postgres] = await Promise.all([startRedis(), startPostgres()])
})
afterAll(async () => {
  for (const c of clients) c.disconnect()
  await Promise.all([redis?.stop(), postgres?.stop()])
})

roomStoreContract('memory', async () => new MemoryRoomStore())
roomStoreContract('redis', async () => new RedisRoomStore(raw()))

const ok = <T extends { ok: boolean }>(res: T) => {
  if (!res.ok) throw new Error(JSON.stringify(res))
  return res as Extract<T, { ok: true }>
}

/** Signals from `from` to peer `to` until one is accepted (Redis may still be coming back: 503-style answers, never `forbidden`). */
async function signalUntilAccepted(from: RoomsClient, to: string, data: string) {
  for (let i = 0; ; i++) {
    const res = await from.emitWithAck('signal', { to, data })
    if (res.ok) return
    if (i > 100 || res.error.code === 'forbidden') throw new Error(`signal refused: ${JSON.stringify(res)}`)
    await sleep(100)
  }
}

describe('two instances sharing Redis', () => {
  let one: TestServer
  let two: TestServer
  const sockets: RoomsClient[] = []
  const on = async (server: TestServer, opts: Parameters<typeof connectRooms>[1] = {}) => {
    const s = await connectRooms(server.url, opts)
    sockets.push(s)
    return s
  }

  beforeAll(async () => {
    // Instances of one deployment share SESSION_SECRET (sessions and nearby group ids depend on it).
    const env = { SESSION_SECRET: 's'.repeat(40), REDIS_URL: redis.url, DATABASE_URL: await createDatabase(postgres.url, 'rooms_redis'), ROOM_CAPACITY: '2', ROOM_HEARTBEAT: '1', ROOM_RECONNECT_GRACE: '5' }
    one = await startTestServer(env)
    two = await startTestServer(env)
  })
  afterAll(async () => {
    for (const s of sockets) s.disconnect()
    await Promise.all([one?.close(), two?.close()])
  })

  it('A on instance 1 and B on instance 2 meet in one room and exchange signals', async () => {
    const a = await on(one)
    const b = await on(two)
    const created = ok(await a.emitWithAck('room:create', { name: 'A' }))
    const seen = nextEvent(a, 'peer:joined')
    const joined = ok(await b.emitWithAck('room:join', { code: created.room.code, name: 'B' }))
    const [pa, pb] = [created.self.peerId, joined.self.peerId]
    expect(joined.room.id).toBe(created.room.id)
    expect(joined.peers.map((p) => p.peerId)).toEqual([pa])
    expect((await seen).peer).toMatchObject({ peerId: pb, name: 'B' })

    const atA = nextEvent(a, 'signal')
    expect(await b.emitWithAck('signal', { to: pa, data: { sdp: 'offer' } })).toEqual({ ok: true })
    expect(await atA).toEqual({ from: pb, data: { sdp: 'offer' } })
    const atB = nextEvent(b, 'signal')
    expect(await a.emitWithAck('signal', { to: pb, data: { sdp: 'answer' } })).toEqual({ ok: true })
    expect(await atB).toEqual({ from: pa, data: { sdp: 'answer' } })

    // A stranger on instance 2 reaches no one in the room.
    const c = await on(two)
    const leaked = collect(a, 'signal')
    expect(await c.emitWithAck('signal', { to: pa, data: 'x' })).toMatchObject({ ok: false, error: { code: 'forbidden' } })

    // Live counters cover both instances.
    const stats = await one.realtime.roomsStats()
    expect(stats.peers).toBeGreaterThanOrEqual(2)
    expect(stats.sockets).toBeGreaterThanOrEqual(3)

    const left = nextEvent(a, 'peer:left')
    b.disconnect()
    expect(await left).toEqual({ roomId: created.room.id, peerId: pb })
    await sleep(100)
    expect(leaked).toEqual([])
  })

  it('seats left taken by an instance that stopped beating are freed when the room looks full', async () => {
    const a = await on(one)
    const created = ok(await a.emitWithAck('room:create', {}))
    // A member whose instance died without saying goodbye (capacity is 2: the room looks full).
    const r = raw()
    const ghost = { peerId: 'ghost', name: 'ghost', device: 'x', tokenHash: '', instance: 'an-instance-that-crashed', conn: 'c', away: false }
    await r.hset(`p2p:peers:${created.room.id}`, 'ghost', JSON.stringify(ghost))
    const b = await on(two)
    const c = await on(one)
    expect((await b.emitWithAck('room:join', { secret: created.room.secret })).ok).toBe(true)
    expect(await r.hexists(`p2p:peers:${created.room.id}`, 'ghost')).toBe(0)
    // Two live members now: really full.
    expect(await c.emitWithAck('room:join', { secret: created.room.secret })).toMatchObject({ ok: false, error: { code: 'room_full' } })
  })

  it('transfer reports from either instance land in the shared PostgreSQL database', async () => {
    const a = await on(two)
    const created = ok(await a.emitWithAck('room:create', {}))
    expect(await reportTransfer(a, { bytes: 1234, files: 1, ms: 50, status: 'cancelled' })).toEqual({ ok: true })
    const rows = await p2pRepo(one.deps.db).recent(10)
    expect(rows.find((r) => r.roomId === created.room.id)).toMatchObject({ bytes: 1234, files: 1, ms: 50, status: 'cancelled' })
  })

  it('a device whose connection drops on instance 1 resumes on instance 2 as the same peer', async () => {
    const a = await on(one)
    const b = await on(two)
    const created = ok(await a.emitWithAck('room:create', { name: 'A', resumable: true }))
    const joined = ok(await b.emitWithAck('room:join', { secret: created.room.secret, resumable: true }))
    const left = collect(b, 'peer:left')
    const reconnecting = nextEvent(b, 'peer:reconnecting')
    dropConnection(a)
    await reconnecting
    const back = nextEvent(b, 'peer:back')
    const again = await on(two)
    const resumed = ok(await again.emitWithAck('room:resume', { token: created.reconnect!.token }))
    expect(resumed.self.peerId).toBe(created.self.peerId)
    expect((await back).peer.peerId).toBe(created.self.peerId)
    const atB = nextEvent(b, 'signal')
    expect(await again.emitWithAck('signal', { to: joined.self.peerId, data: 'same peer' })).toEqual({ ok: true })
    expect(await atB).toEqual({ from: created.self.peerId, data: 'same peer' })
    // Instance 1's grace timer for the old connection fires in 5 s and must not free the seat.
    await sleep(5500)
    expect(left).toEqual([])
    expect(await b.emitWithAck('signal', { to: created.self.peerId, data: 'still here' })).toEqual({ ok: true })
  })

  it('a relay between devices on two instances arrives byte-identical, through Redis to the receiver\'s instance only, never broadcast', async () => {
    const a = await on(one)
    const b = await on(two)
    const created = ok(await a.emitWithAck('room:create', {}))
    const joined = ok(await b.emitWithAck('room:join', { secret: created.room.secret }))
    const watch = raw()
    const bytesBy = new Map<string, number>()
    watch.on('pmessageBuffer', (_pattern: Buffer, channel: Buffer, message: Buffer) => {
      const name = channel.toString().replace(/[A-Za-z0-9_-]{12}$/, '<instance>').replace(/#.*/, '#…')
      bytesBy.set(name, (bytesBy.get(name) ?? 0) + message.length)
    })
    await watch.psubscribe('sharesync:*')
    const size = 6 * 2 ** 20 + 7
    const there = await relayBytes(a, b, joined.self.peerId, size)
    expect(there.received).toBe(there.sent)
    const back = await relayBytes(b, a, created.self.peerId, 2 ** 20)
    expect(back.received).toBe(back.sent)
    await watch.punsubscribe()
    const relayed = [...bytesBy].filter(([name]) => name.startsWith('sharesync:relay:')).reduce((n, [, b]) => n + b, 0)
    const adapter = [...bytesBy].filter(([name]) => name.startsWith('sharesync:sio')).reduce((n, [, b]) => n + b, 0)
    expect(relayed).toBeGreaterThan(size + 2 ** 20)
    expect(relayed).toBeLessThan((size + 2 ** 20) * 1.05)
    // The Socket.IO adapter (which every instance hears) carries the signaling only.
    expect(adapter).toBeLessThan(64 * 1024)
  })

  it('devices on one network meet in one nearby group, whichever instance they reach', async () => {
    const a = await on(one, { localAddress: '127.0.0.21' })
    const b = await on(two, { localAddress: '127.0.0.21' })
    const na = ok(await a.emitWithAck('nearby:join', {}))
    const nb = ok(await b.emitWithAck('nearby:join', {}))
    expect(nb.nearby.id).toBe(na.nearby.id)
    expect(nb.peers.map((p) => p.peerId)).toEqual([na.self.peerId])
  })

  it('a link room spans instances: a recipient on instance 2 reaches the host on 1, never another recipient; claims, deliveries and cloud receipts cross', async () => {
    const api = apiOf(one.url)
    const bytes = randomBytes(4000)
    const up = await uploadShare(api, [{ name: 'l.bin', bytes }], { direct: true, maxDownloads: 2 })
    const host = await on(two)
    ok(await host.emitWithAck('link:host', { shareId: up.id, ownerToken: up.ownerToken }))
    const r1 = await on(one)
    const r2 = await on(one)
    const heard = nextEvent(host, 'peer:joined')
    const j1 = ok(await r1.emitWithAck('link:join', { shareId: up.id }))
    expect(j1.hosts).toHaveLength(1)
    await heard
    const j2 = ok(await r2.emitWithAck('link:join', { shareId: up.id }))
    const hostId = j1.hosts[0]!.peerId
    const atHost = nextEvent(host, 'signal')
    await signalUntilAccepted(r1, hostId, 'hello')
    expect((await atHost).from).toBe(j1.self.peerId)
    const refused = await r1.emitWithAck('signal', { to: j2.self.peerId, data: 'x' })
    expect(refused.ok ? 'ok' : refused.error.code).toBe('forbidden')
    const claimed = nextEvent(host, 'link:claimed')
    const claim = ok(await r1.emitWithAck('link:claim', {}))
    expect((await claimed).claimId).toBe(claim.claim.id)
    ok(await host.emitWithAck('link:delivered', { claimId: claim.claim.id, bytes: 4000, path: 'direct' }))
    // a cloud download served by instance 1: its receipt reaches the host on instance 2
    const receipts = collect(host, 'link:receipt')
    const dl = await api<{ url: string }>(`/api/shares/${up.id}/download`, { body: {} })
    expect(Buffer.from(await (await fetch(dl.body.url)).arrayBuffer()).equals(bytes)).toBe(true)
    await until(() => receipts.some((r) => r.receipt.status === 'done'), 'a receipt across instances')
    // both downloads counted: the link is used up on both paths and both instances
    expect((await two.fetch(`/api/shares/${up.id}`)).status).toBe(404)
    const again = await r2.emitWithAck('link:claim', {})
    expect(again.ok ? 'ok' : again.error.code).toBe('share_not_found')
  })

  it('after FLUSHALL a live room goes on: members register again from their sockets, signals pass, the code and link still admit', async () => {
    const a = await on(one)
    const b = await on(two)
    const created = ok(await a.emitWithAck('room:create', { name: 'A', resumable: true }))
    const joined = ok(await b.emitWithAck('room:join', { code: created.room.code, name: 'B', resumable: true }))
    const left = collect(a, 'peer:left')
    const closed = collect(a, 'room:closed')
    await raw().flushall()
    // At once, before any heartbeat: the miss itself restores the rooms.
    const atA = nextEvent(a, 'signal')
    expect(await b.emitWithAck('signal', { to: created.self.peerId, data: 'after the flush' })).toEqual({ ok: true })
    expect(await atA).toEqual({ from: joined.self.peerId, data: 'after the flush' })
    const atB = nextEvent(b, 'signal')
    expect(await a.emitWithAck('signal', { to: joined.self.peerId, data: 'back' })).toEqual({ ok: true })
    expect((await atB).data).toBe('back')
    // Tokens were restored with the seats.
    dropConnection(a)
    const again = await on(two)
    expect(ok(await again.emitWithAck('room:resume', { token: created.reconnect!.token })).self.peerId).toBe(created.self.peerId)
    expect(await again.emitWithAck('room:leave', {})).toEqual({ ok: true })
    // The code and the link still work for a new device.
    const c = await on(one)
    expect(ok(await c.emitWithAck('room:join', { code: created.room.code })).room.id).toBe(created.room.id)
    expect(left.filter((e) => e.peerId === joined.self.peerId)).toEqual([])
    expect(closed).toEqual([])
  })

  it('after Redis restarts empty (no persistence) a live room goes on without any page reloading', async () => {
    const a = await on(one)
    const b = await on(two)
    const created = ok(await a.emitWithAck('room:create', { resumable: true }))
    const joined = ok(await b.emitWithAck('room:join', { secret: created.room.secret, resumable: true }))
    await redis.restart()
    // The adapter and the store reconnect on their own; until then a signal answers 503-style errors.
    await signalUntilAccepted(b, created.self.peerId, 'after the restart')
    await until(async () => (await a.emitWithAck('signal', { to: joined.self.peerId, data: 'ok' })).ok, 'signals from A pass again', 15_000)
    expect(a.connected && b.connected).toBe(true)
    // Both seats are back: a third device finds the room (capacity 2) full, not gone.
    const fresh = await on(two)
    expect(await fresh.emitWithAck('room:join', { secret: created.room.secret })).toMatchObject({ ok: false, error: { code: 'room_full' } })
  })
})

describe('an instance that freezes or dies (a child process)', () => {
  let one: TestServer
  let three: ServerProcess
  const sockets: RoomsClient[] = []
  let env: Record<string, string>

  beforeAll(async () => {
    env = { REDIS_URL: redis.url, DATABASE_URL: await createDatabase(postgres.url, 'rooms_redis_faults'), ROOM_HEARTBEAT: '1', ROOM_RECONNECT_GRACE: '2' }
    one = await startTestServer(env)
  })
  afterAll(async () => {
    for (const s of sockets) s.disconnect()
    await Promise.all([one?.close(), three?.stop()])
  })

  it('a frozen instance does not make room:join fail on the other; its devices are announced gone, and registered again when it wakes', async () => {
    three = await startServerProcess(env)
    const a = await connectRooms(three.url)
    const b = await connectRooms(one.url)
    sockets.push(a, b)
    const created = ok(await b.emitWithAck('room:create', { name: 'B' }))
    const joinedA = ok(await a.emitWithAck('room:join', { secret: created.room.secret, name: 'A' }))
    const gone = nextEvent(b, 'peer:left', 10_000)
    three.pause()
    try {
      const c = await connectRooms(one.url)
      sockets.push(c)
      const joinedC = ok(await c.emitWithAck('room:join', { secret: created.room.secret, name: 'C' }))
      expect(joinedC.peers.map((p) => p.name).sort()).toEqual(['A', 'B'])
      // The dashboard's cluster-wide figures answer too, from this instance alone.
      expect((await one.realtime.roomsStats()).peers).toBeGreaterThanOrEqual(2)
      expect(await gone).toEqual({ roomId: created.room.id, peerId: joinedA.self.peerId })
    } finally {
      const again = nextEvent(b, 'peer:joined', 10_000)
      three.resume()
      // Its socket to A survived the freeze: A is registered again and announced.
      expect((await again).peer).toMatchObject({ peerId: joinedA.self.peerId, name: 'A' })
    }
    const atA = nextEvent(a, 'signal')
    expect(await b.emitWithAck('signal', { to: joinedA.self.peerId, data: 'welcome back' })).toEqual({ ok: true })
    expect((await atA).data).toBe('welcome back')
  })

  it('the devices of a killed instance are announced gone and their seats freed', async () => {
    const a = await connectRooms(three.url)
    const b = await connectRooms(one.url)
    sockets.push(a, b)
    const created = ok(await b.emitWithAck('room:create', {}))
    const joinedA = ok(await a.emitWithAck('room:join', { secret: created.room.secret, resumable: true }))
    const gone = nextEvent(b, 'peer:left', 10_000)
    await three.kill()
    expect(await gone).toEqual({ roomId: created.room.id, peerId: joinedA.self.peerId })
    const r = raw()
    expect(await r.hexists(`p2p:peers:${created.room.id}`, joinedA.self.peerId)).toBe(0)
  })
})
