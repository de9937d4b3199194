/**
 * Server relay channels: two members that cannot connect directly send through the server —
 * streamed with the acks as flow control, never stored, capped per channel and per address,
 * counted for the dashboard, switchable off by the admin, only between members of one group.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { statsRepo } from '../src/db/stats.repo'
import { startTestServer, type TestServer } from './support/harness'
import { startServerProcess, rss, type ServerProcess } from './support/server-process'
import { collect, connectRooms, dropConnection, nextEvent, relayBytes, sleep, until, type ConnectOptions, type RoomsClient } from './support/rooms-client'

const MiB = 2 ** 20
const ok = <T extends { ok: boolean }>(res: T) => {
  if (!res.ok) throw new Error(JSON.stringify(res))
  return res as Extract<T, { ok: true }>
}

describe('P2P server relay (one instance)', () => {
  let server: TestServer
  const open: RoomsClient[] = []
  const client = async (opts: ConnectOptions = {}) => {
    const s = await connectRooms(server.url, opts)
    open.push(s)
    return s
  }
  async function pair(opts: ConnectOptions = {}) {
    const a = await client(opts)
    const b = await client(opts)
    const created = ok(await a.emitWithAck('room:create', { name: 'A' }))
    const joined = ok(await b.emitWithAck('room:join', { secret: created.room.secret, name: 'B' }))
    return { a, b, roomId: created.room.id, secret: created.room.secret, pa: created.self.peerId, pb: joined.self.peerId }
  }

  beforeAll(async () => {
    server = await startTestServer({ RELAY_MAX_BYTES: '64MiB', RELAY_DAILY_QUOTA: '200MiB', RELAY_STALL_TIMEOUT: '1s', ROOM_CREATE_RATE_LIMIT: '1000/1h' })
  })
  afterAll(async () => {
    for (const s of open) s.disconnect()
    await server?.close()
  })

  it('a file relayed from A to B arrives byte-identical, from A as the server says, and the other way round too', async () => {
    const { a, b, pa, pb } = await pair()
    const opened = nextEvent(b, 'relay:opened')
    const run = relayBytes(a, b, pb, 8 * MiB + 123)
    expect(await opened).toEqual({ id: expect.any(String), from: pa, bytes: 8 * MiB + 123, chunkBytes: 256 * 1024, window: 8 })
    const result = await run
    expect(result.received).toBe(result.sent)
    expect(result.bytes).toBe(8 * MiB + 123)
    const back = await relayBytes(b, a, pa, 3 * MiB)
    expect(back.received).toBe(back.sent)
  })

  it('text messages travel on the channel in order with the binary ones, and a close reaches the other end', async () => {
    const { a, b, pb } = await pair()
    const { relay } = ok(await a.emitWithAck('relay:open', { to: pb, bytes: 1000 }))
    const got: unknown[] = []
    b.on('relay:data', (p, ack) => {
      got.push(typeof p.data === 'string' ? p.data : Buffer.from(p.data as Uint8Array).toString('hex'))
      ack()
    })
    expect(await a.emitWithAck('relay:data', { id: relay.id, data: '{"t":"offer"}' })).toEqual({ ok: true })
    expect(await a.emitWithAck('relay:data', { id: relay.id, data: Buffer.from([1, 2]) })).toEqual({ ok: true })
    expect(await a.emitWithAck('relay:data', { id: relay.id, data: 'eof ✓' })).toEqual({ ok: true })
    expect(got).toEqual(['{"t":"offer"}', '0102', 'eof ✓'])
    const closed = nextEvent(b, 'relay:closed')
    expect(await a.emitWithAck('relay:close', { id: relay.id })).toEqual({ ok: true })
    expect(await closed).toEqual({ id: relay.id, reason: 'closed' })
    expect(await a.emitWithAck('relay:data', { id: relay.id, data: 'late' })).toMatchObject({ ok: false, error: { code: 'relay_closed' } })
  })

  it('only members of one room or nearby group relay to each other; nobody writes into someone else\'s channel', async () => {
    const { a, b, pa, pb } = await pair()
    const stranger = await client()
    ok(await stranger.emitWithAck('room:create', {}))
    expect(await stranger.emitWithAck('relay:open', { to: pa, bytes: 10 })).toMatchObject({ ok: false, error: { code: 'forbidden' } })
    const lone = await client()
    expect(await lone.emitWithAck('relay:open', { to: pa, bytes: 10 })).toMatchObject({ ok: false, error: { code: 'forbidden' } })
    expect(await a.emitWithAck('relay:open', { to: pa, bytes: 10 })).toMatchObject({ ok: false, error: { code: 'forbidden' } })
    const { relay } = ok(await a.emitWithAck('relay:open', { to: pb, bytes: 100 }))
    const atB = collect(b, 'relay:data')
    expect(await stranger.emitWithAck('relay:data', { id: relay.id, data: 'injected' })).toMatchObject({ ok: false, error: { code: 'relay_closed' } })
    expect(await stranger.emitWithAck('relay:close', { id: relay.id })).toMatchObject({ ok: false, error: { code: 'relay_closed' } })
    await sleep(100)
    expect(atB).toEqual([])
    // The channel is still A's and B's.
    b.on('relay:data', (_p, ack) => ack())
    expect(await a.emitWithAck('relay:data', { id: relay.id, data: 'still ours' })).toEqual({ ok: true })
  })

  it('a sender that ignores the window, or sends more than it opened for, has the channel closed on both sides', async () => {
    const { a, b, pb } = await pair()
    // B never acknowledges: A may have 8 messages waiting, not 9.
    const { relay } = ok(await a.emitWithAck('relay:open', { to: pb, bytes: 10 * MiB }))
    const closedA = nextEvent(a, 'relay:closed')
    const closedB = nextEvent(b, 'relay:closed')
    const answers = Array.from({ length: 9 }, () => a.emitWithAck('relay:data', { id: relay.id, data: Buffer.alloc(1024) }))
    expect(await closedA).toEqual({ id: relay.id, reason: 'limit' })
    expect(await closedB).toEqual({ id: relay.id, reason: 'limit' })
    expect((await Promise.all(answers)).every((r) => !r.ok)).toBe(true)

    b.on('relay:data', (_p, ack) => ack())
    const small = ok(await a.emitWithAck('relay:open', { to: pb, bytes: 1000 }))
    expect(await a.emitWithAck('relay:data', { id: small.relay.id, data: Buffer.alloc(1000) })).toEqual({ ok: true })
    expect(await a.emitWithAck('relay:data', { id: small.relay.id, data: 'x' })).toMatchObject({ ok: false, error: { code: 'relay_closed' } })
  })

  it('a receiver that stops acknowledging stalls the channel; one that goes away closes it (peer_gone)', async () => {
    const { a, b, pb } = await pair()
    const { relay } = ok(await a.emitWithAck('relay:open', { to: pb, bytes: 1000 }))
    b.on('relay:data', () => undefined) // never acks
    const stalled = nextEvent(a, 'relay:closed')
    expect(await a.emitWithAck('relay:data', { id: relay.id, data: 'anyone?' })).toMatchObject({ ok: false, error: { code: 'relay_closed' } })
    expect(await stalled).toEqual({ id: relay.id, reason: 'stalled' })

    const second = await pair()
    const ch = ok(await second.a.emitWithAck('relay:open', { to: second.pb, bytes: 1000 }))
    const gone = nextEvent(second.a, 'relay:closed')
    dropConnection(second.b)
    expect(await gone).toEqual({ id: ch.relay.id, reason: 'peer_gone' })
  })

  it('caps: a channel above RELAY_MAX_BYTES is refused; an address past its daily quota too, and unused bytes are given back', async () => {
    // Its own address, so that the quota starts untouched.
    const { a, pb } = await pair({ localAddress: '127.0.0.31' })
    expect(await a.emitWithAck('relay:open', { to: pb, bytes: 64 * MiB + 1 })).toMatchObject({ ok: false, error: { code: 'too_large' } })
    // 200 MiB a day: three channels of 64 MiB fit, the fourth does not, until one closes unused.
    const channels = []
    for (let i = 0; i < 3; i++) channels.push(ok(await a.emitWithAck('relay:open', { to: pb, bytes: 64 * MiB })).relay.id)
    expect(await a.emitWithAck('relay:open', { to: pb, bytes: 64 * MiB })).toMatchObject({ ok: false, error: { code: 'quota_exceeded' } })
    // Another device from the same address, in another room: the same quota.
    const other = await pair({ localAddress: '127.0.0.31' })
    expect(await other.a.emitWithAck('relay:open', { to: other.pb, bytes: 64 * MiB })).toMatchObject({ ok: false, error: { code: 'quota_exceeded' } })
    // Another address is not affected.
    const elsewhere = await pair({ localAddress: '127.0.0.32' })
    ok(await elsewhere.a.emitWithAck('relay:open', { to: elsewhere.pb, bytes: 64 * MiB }))
    ok(await a.emitWithAck('relay:close', { id: channels[0]! }))
    ok(await other.a.emitWithAck('relay:open', { to: other.pb, bytes: 64 * MiB }))
  })

  it('the far end\'s bytes count against the opener\'s quota too: a channel that only carried bytes back to its opener gives nothing back', async () => {
    const { a, b, pb } = await pair({ localAddress: '127.0.0.33' })
    const { relay } = ok(await a.emitWithAck('relay:open', { to: pb, bytes: 64 * MiB }))
    a.on('relay:data', (_p, ack) => ack())
    const chunk = Buffer.alloc(256 * 1024)
    for (let i = 0; i < (16 * MiB) / chunk.byteLength; i++) ok(await b.emitWithAck('relay:data', { id: relay.id, data: chunk }))
    ok(await a.emitWithAck('relay:close', { id: relay.id }))
    // 16 MiB used of 200 MiB: two more channels of 64 MiB fit, a third does not (it would if the
    // bytes that went from B to A were free).
    await until(async () => (await a.emitWithAck('relay:open', { to: pb, bytes: 64 * MiB })).ok, 'the first channel opened after the close')
    ok(await a.emitWithAck('relay:open', { to: pb, bytes: 64 * MiB }))
    expect(await a.emitWithAck('relay:open', { to: pb, bytes: 64 * MiB })).toMatchObject({ ok: false, error: { code: 'quota_exceeded' } })
  })

  it('a socket holds at most 8 relay channels at once: the ninth is refused until one closes', async () => {
    const { a, pb } = await pair()
    const ids = []
    for (let i = 0; i < 8; i++) ids.push(ok(await a.emitWithAck('relay:open', { to: pb, bytes: 10 })).relay.id)
    expect(await a.emitWithAck('relay:open', { to: pb, bytes: 10 })).toMatchObject({ ok: false, error: { code: 'rate_limited' } })
    ok(await a.emitWithAck('relay:close', { id: ids[0]! }))
    ok(await a.emitWithAck('relay:open', { to: pb, bytes: 10 }))
  })

  it('one address holds at most 16 relay channels at once, whatever its number of sockets; other addresses are not affected', async () => {
    const { a, b, pb, secret } = await pair({ localAddress: '127.0.0.34' })
    const c = await client({ localAddress: '127.0.0.34' })
    const d = await client({ localAddress: '127.0.0.34' })
    const e = await client({ localAddress: '127.0.0.35' })
    for (const s of [c, d, e]) ok(await s.emitWithAck('room:join', { secret }))
    const first = []
    for (const s of [a, c]) for (let i = 0; i < 8; i++) first.push(ok(await s.emitWithAck('relay:open', { to: pb, bytes: 0 })).relay.id)
    expect(await d.emitWithAck('relay:open', { to: pb, bytes: 0 })).toMatchObject({ ok: false, error: { code: 'rate_limited', message: expect.stringContaining('one address') } })
    ok(await e.emitWithAck('relay:open', { to: pb, bytes: 0 }))
    // A channel that closes (or a socket that goes) makes room again.
    ok(await a.emitWithAck('relay:close', { id: first[0]! }))
    ok(await d.emitWithAck('relay:open', { to: pb, bytes: 0 }))
    expect(await d.emitWithAck('relay:open', { to: pb, bytes: 0 })).toMatchObject({ ok: false, error: { code: 'rate_limited' } })
    c.disconnect()
    await until(async () => (await d.emitWithAck('relay:open', { to: pb, bytes: 0 })).ok, 'room again once a socket went')
    expect(b.connected).toBe(true)
  })

  it('a third member of the room cannot write into or close a channel between two others; a member that leaves the room ends its channels and can no longer be reached', async () => {
    const { a, b, pb, secret } = await pair()
    const c = await client()
    ok(await c.emitWithAck('room:join', { secret, name: 'C' }))
    const { relay } = ok(await a.emitWithAck('relay:open', { to: pb, bytes: 1000 }))
    const atB = collect(b, 'relay:data')
    expect(await c.emitWithAck('relay:data', { id: relay.id, data: 'injected' })).toMatchObject({ ok: false, error: { code: 'relay_closed' } })
    expect(await c.emitWithAck('relay:close', { id: relay.id })).toMatchObject({ ok: false, error: { code: 'relay_closed' } })
    expect(atB).toEqual([])

    const closedA = nextEvent(a, 'relay:closed')
    const closedB = nextEvent(b, 'relay:closed')
    ok(await b.emitWithAck('room:leave', {}))
    expect(await closedA).toEqual({ id: relay.id, reason: 'peer_gone' })
    expect(await closedB).toEqual({ id: relay.id, reason: 'peer_gone' })
    expect(await b.emitWithAck('relay:data', { id: relay.id, data: 'after leaving' })).toMatchObject({ ok: false, error: { code: 'relay_closed' } })
    expect(await a.emitWithAck('relay:open', { to: pb, bytes: 10 })).toMatchObject({ ok: false, error: { code: 'forbidden' } })
  })

  it('bad relay payloads answer invalid_input; a flood of them cuts the socket off; a 2 MB frame closes it at once', async () => {
    const { a, b, pb } = await pair()
    for (const bad of [{}, { to: pb }, { to: pb, bytes: -1 }, { to: pb, bytes: 1.5 }, { to: pb, bytes: 'all' }, { to: 'x'.repeat(65), bytes: 1 }, { to: pb, bytes: 1, extra: true }]) {
      expect(await a.emitWithAck('relay:open', bad as never)).toMatchObject({ ok: false, error: { code: 'invalid_input' } })
    }
    const { relay } = ok(await a.emitWithAck('relay:open', { to: pb, bytes: MiB }))
    for (const bad of [{ id: relay.id }, { id: relay.id, data: 42 }, { id: 'short', data: 'x' }, { id: relay.id, data: Buffer.alloc(256 * 1024 + 1) }, { id: relay.id, data: 'x'.repeat(256 * 1024 + 1) }, null]) {
      expect(await a.emitWithAck('relay:data', bad as never)).toMatchObject({ ok: false, error: { code: 'invalid_input' } })
    }
    expect(await a.emitWithAck('relay:close', { id: relay.id, reason: 'x'.repeat(201) } as never)).toMatchObject({ ok: false, error: { code: 'invalid_input' } })
    // A signal is bounded by its schema now that frames may carry relay chunks.
    expect(await a.emitWithAck('signal', { to: pb, data: 'x'.repeat(65 * 1024) })).toMatchObject({ ok: false, error: { code: 'invalid_input' } })

    const flooder = await client()
    const cut = nextEvent(flooder, 'disconnect' as never, 5000)
    for (let i = 0; i < 400; i++) flooder.emit('relay:data', { id: 'not-a-channel-id', data: 'x' }, () => undefined)
    await cut
    const big = await client()
    const closed = nextEvent(big, 'disconnect' as never, 5000)
    big.emit('relay:data', { id: relay.id, data: Buffer.alloc(2 * MiB) }, () => undefined)
    await closed
    expect(a.connected && b.connected).toBe(true)
  })

  it('the admin switches the relay off (at once, every instance within a second) and on again', async () => {
    const { a, pb } = await pair()
    const current = await server.deps.settings.read()
    await server.deps.settings.save({ ...current.settings, p2pRelay: false }, 'test')
    expect(await a.emitWithAck('relay:open', { to: pb, bytes: 10 })).toMatchObject({ ok: false, error: { code: 'relay_disabled', message: expect.stringContaining('TURN') } })
    await server.deps.settings.save({ ...current.settings, p2pRelay: true }, 'test')
    expect((await a.emitWithAck('relay:open', { to: pb, bytes: 10 })).ok).toBe(true)
  })

  it('the dashboard counts open relay channels live, and relayed bytes once they close', async () => {
    const { a, b, pb } = await pair()
    const before = await statsRepo.totals(server.deps.db)
    const { relay } = ok(await a.emitWithAck('relay:open', { to: pb, bytes: MiB }))
    expect((await server.realtime.roomsStats()).relays).toBeGreaterThanOrEqual(1)
    b.on('relay:data', (_p, ack) => ack())
    for (let i = 0; i < 4; i++) ok(await a.emitWithAck('relay:data', { id: relay.id, data: Buffer.alloc(1000) }))
    ok(await a.emitWithAck('relay:close', { id: relay.id }))
    await until(async () => (await statsRepo.totals(server.deps.db)).p2pRelays > before.p2pRelays, 'the relay recorded')
    const after = await statsRepo.totals(server.deps.db)
    expect(after.p2pRelays - before.p2pRelays).toBe(1)
    expect(after.p2pRelayBytes - before.p2pRelayBytes).toBe(4000)
    const metrics = await (await server.fetch('/metrics')).text()
    expect(metrics).toMatch(/sharesync_relay_bytes_total \d+/)
  })
})

describe('P2P server relay memory (the real server as a child process)', () => {
  let server: ServerProcess
  const open: RoomsClient[] = []
  beforeAll(async () => {
    server = await startServerProcess({})
  })
  afterAll(async () => {
    for (const s of open) s.disconnect()
    await server?.stop()
  })

  it('relaying 96 MiB to a receiver slower than the sender grows the server\'s memory by far less than the file (under 64 MB)', async () => {
    const a = await connectRooms(server.url)
    const b = await connectRooms(server.url)
    open.push(a, b)
    const created = ok(await a.emitWithAck('room:create', {}))
    const joined = ok(await b.emitWithAck('room:join', { secret: created.room.secret }))
    // Warm up (code paths, buffers), then measure from here.
    await relayBytes(a, b, joined.self.peerId, 4 * MiB)
    const pid = server.proc.pid!
    const base = await rss.now(pid)
    await rss.resetPeak(pid)
    // The receiver consumes at a pace the sender could beat: without flow control the server would hold the difference.
    const result = await relayBytes(a, b, joined.self.peerId, 96 * MiB, { consume: () => sleep(2) })
    expect(result.received).toBe(result.sent)
    const growth = (await rss.peak(pid)) - base
    process.stdout.write(`server RSS: ${Math.round(base / MiB)} MiB before, peak +${Math.round(growth / MiB)} MiB while relaying 96 MiB\n`)
    expect(growth).toBeLessThan(64 * 1e6)
  })
})
