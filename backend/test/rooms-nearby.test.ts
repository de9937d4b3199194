/**
 * Nearby devices without a code: sockets from one network (one address, one private /24, one IPv6
 * /64) see each other and signal as room members do; other networks never; TRUST_PROXY decides
 * which address counts, as for the rate limits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type TestServer } from './support/harness'
import { collect, connectRooms, dropConnection, nextEvent, sleep, type ConnectOptions, type RoomsClient } from './support/rooms-client'

const ok = <T extends { ok: boolean }>(res: T) => {
  if (!res.ok) throw new Error(JSON.stringify(res))
  return res as Extract<T, { ok: true }>
}

describe('nearby devices, told apart by real loopback addresses (no proxy)', () => {
  let server: TestServer
  const open: RoomsClient[] = []
  const from = async (localAddress: string, opts: ConnectOptions = {}) => {
    const s = await connectRooms(server.url, { localAddress, ...opts })
    open.push(s)
    return s
  }
  beforeAll(async () => {
    server = await startTestServer({ ROOM_RECONNECT_GRACE: '2' })
  })
  afterAll(async () => {
    for (const s of open) s.disconnect()
    await server?.close()
  })

  it('two devices from one address see each other at once, without a code, and signal each other; a device from another address sees neither', async () => {
    const a = await from('127.0.0.2')
    const b = await from('127.0.0.2')
    const c = await from('127.0.0.3')
    const na = ok(await a.emitWithAck('nearby:join', { name: 'Alice laptop' }))
    expect(na.peers).toEqual([])
    const seen = nextEvent(a, 'peer:joined')
    const nb = ok(await b.emitWithAck('nearby:join', { name: 'Bob phone' }))
    expect(nb.nearby.id).toBe(na.nearby.id)
    expect(nb.nearby.id).not.toContain('127')
    expect(nb.peers).toEqual([{ peerId: na.self.peerId, name: 'Alice laptop', device: expect.any(String) }])
    expect(await seen).toEqual({ roomId: na.nearby.id, peer: { peerId: nb.self.peerId, name: 'Bob phone', device: expect.any(String) } })

    const aSees = collect(a, 'peer:joined')
    const nc = ok(await c.emitWithAck('nearby:join', { name: 'Carol elsewhere' }))
    expect(nc.nearby.id).not.toBe(na.nearby.id)
    expect(nc.peers).toEqual([])

    const atB = nextEvent(b, 'signal')
    expect(await a.emitWithAck('signal', { to: nb.self.peerId, data: { sdp: 'offer' } })).toEqual({ ok: true })
    expect(await atB).toEqual({ from: na.self.peerId, data: { sdp: 'offer' } })
    // Across networks: no signal, either way.
    const atA = collect(a, 'signal')
    expect(await c.emitWithAck('signal', { to: na.self.peerId, data: 'x' })).toMatchObject({ ok: false, error: { code: 'forbidden' } })
    expect(await a.emitWithAck('signal', { to: nc.self.peerId, data: 'x' })).toMatchObject({ ok: false, error: { code: 'forbidden' } })
    await sleep(100)
    expect(aSees).toEqual([])
    expect(atA).toEqual([])
  })

  it('a device can hide itself: the others see it leave, and it no longer sees them', async () => {
    const a = await from('127.0.0.4')
    const b = await from('127.0.0.4')
    const na = ok(await a.emitWithAck('nearby:join', {}))
    const nb = ok(await b.emitWithAck('nearby:join', {}))
    const left = nextEvent(a, 'peer:left')
    expect(await b.emitWithAck('nearby:leave', {})).toEqual({ ok: true })
    expect(await left).toEqual({ roomId: na.nearby.id, peerId: nb.self.peerId })
    const joinedLater = collect(b, 'peer:joined')
    const d = await from('127.0.0.4')
    ok(await d.emitWithAck('nearby:join', {}))
    expect(await a.emitWithAck('signal', { to: nb.self.peerId, data: 'hidden?' })).toMatchObject({ ok: false, error: { code: 'forbidden' } })
    await sleep(100)
    expect(joinedLater).toEqual([])
  })

  it('a device can be in a room and in its nearby group at once, with one peer id; events say which group', async () => {
    const a = await from('127.0.0.5')
    const b = await from('127.0.0.5')
    const far = await from('127.0.0.6')
    const na = ok(await a.emitWithAck('nearby:join', {}))
    const room = ok(await a.emitWithAck('room:create', {}))
    expect(room.self.peerId).toBe(na.self.peerId)
    const nearbySeen = nextEvent(a, 'peer:joined')
    const nb = ok(await b.emitWithAck('nearby:join', {}))
    expect((await nearbySeen).roomId).toBe(na.nearby.id)
    const roomSeen = nextEvent(a, 'peer:joined')
    const joined = ok(await far.emitWithAck('room:join', { secret: room.room.secret }))
    expect((await roomSeen).roomId).toBe(room.room.id)
    expect(joined.peers.map((p) => p.peerId)).toEqual([na.self.peerId])
    // The far device reaches A through the room, but not B, who is only nearby to A.
    expect(await far.emitWithAck('signal', { to: na.self.peerId, data: 1 })).toEqual({ ok: true })
    expect(await far.emitWithAck('signal', { to: nb.self.peerId, data: 1 })).toMatchObject({ ok: false, error: { code: 'forbidden' } })
    expect(await b.emitWithAck('signal', { to: joined.self.peerId, data: 1 })).toMatchObject({ ok: false, error: { code: 'forbidden' } })
    // Leaving the room keeps the nearby seat.
    ok(await a.emitWithAck('room:leave', {}))
    expect(await b.emitWithAck('signal', { to: na.self.peerId, data: 1 })).toEqual({ ok: true })
  })

  it('a nearby device that reloads comes back as the same peer with its token, only from the same network', async () => {
    const a = await from('127.0.0.7')
    const b = await from('127.0.0.7')
    const na = ok(await a.emitWithAck('nearby:join', { resumable: true }))
    const nb = ok(await b.emitWithAck('nearby:join', {}))
    expect(na.reconnect?.graceSeconds).toBe(2)
    const reconnecting = nextEvent(b, 'peer:reconnecting')
    dropConnection(a)
    expect(await reconnecting).toEqual({ roomId: na.nearby.id, peerId: na.self.peerId })
    // Moved to another network: the token is refused there.
    const elsewhere = await from('127.0.0.8')
    expect(await elsewhere.emitWithAck('nearby:join', { token: na.reconnect!.token, resumable: true })).toMatchObject({ ok: false, error: { code: 'resume_refused' } })
    const back = nextEvent(b, 'peer:back')
    const again = await from('127.0.0.7')
    const resumed = ok(await again.emitWithAck('nearby:join', { token: na.reconnect!.token, resumable: true }))
    expect(resumed.self.peerId).toBe(na.self.peerId)
    expect(resumed.peers.map((p) => p.peerId)).toEqual([nb.self.peerId])
    expect((await back).peer.peerId).toBe(na.self.peerId)
    // A room token is not a nearby token, and the spent nearby token is spent.
    expect(await (await from('127.0.0.7')).emitWithAck('nearby:join', { token: na.reconnect!.token })).toMatchObject({ ok: false, error: { code: 'resume_refused' } })
  })

  it('bad nearby payloads answer invalid_input', async () => {
    const s = await from('127.0.0.9')
    for (const bad of [{ name: 'x'.repeat(65) }, { name: '' }, { hidden: true }, { token: 'nope' }, { resumable: 'yes' }, { name: 7 }, null]) {
      expect(await s.emitWithAck('nearby:join', bad as never)).toMatchObject({ ok: false, error: { code: 'invalid_input' } })
    }
    expect(await s.emitWithAck('nearby:leave', { extra: 1 } as never)).toMatchObject({ ok: false, error: { code: 'invalid_input' } })
    // A forwarded-for header the server does not trust: it cannot tell the network, so it refuses.
    const proxied = await connectRooms(server.url, { headers: { 'x-forwarded-for': '203.0.113.7' } })
    open.push(proxied)
    expect(await proxied.emitWithAck('nearby:join', {})).toMatchObject({ ok: false, error: { code: 'nearby_unavailable' } })
  })
})

describe('nearby devices behind a trusted proxy (TRUST_PROXY, X-Forwarded-For)', () => {
  let server: TestServer
  const open: RoomsClient[] = []
  const via = async (address: string) => {
    const s = await connectRooms(server.url, { headers: { 'x-forwarded-for': address } })
    open.push(s)
    return s
  }
  beforeAll(async () => {
    server = await startTestServer({ TRUST_PROXY: 'loopback', NEARBY_CAPACITY: '3' })
  })
  afterAll(async () => {
    for (const s of open) s.disconnect()
    await server?.close()
  })

  const groupOf = async (address: string) => ok(await (await via(address)).emitWithAck('nearby:join', {})).nearby.id

  it('the address the proxy saw decides: one public address, one private /24, one IPv6 /64 are one group each', async () => {
    expect(await groupOf('203.0.113.7')).toBe(await groupOf('203.0.113.7'))
    expect(await groupOf('203.0.113.7')).not.toBe(await groupOf('203.0.113.8'))
    expect(await groupOf('192.168.1.10')).toBe(await groupOf('192.168.1.99'))
    expect(await groupOf('192.168.1.10')).not.toBe(await groupOf('192.168.2.10'))
    expect(await groupOf('2001:db8:1:1::a')).toBe(await groupOf('2001:db8:1:1::b'))
    expect(await groupOf('2001:db8:1:1::a')).not.toBe(await groupOf('2001:db8:1:2::a'))
  })

  it('a group holds NEARBY_CAPACITY devices', async () => {
    for (let i = 0; i < 3; i++) ok(await (await via('198.51.100.50')).emitWithAck('nearby:join', {}))
    expect(await (await via('198.51.100.50')).emitWithAck('nearby:join', {})).toMatchObject({ ok: false, error: { code: 'room_full' } })
  })
})
