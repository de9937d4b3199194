/**
 * Stable device identity across reconnects, on one instance: reconnect tokens (resume as the same
 * peer, spent on use), the grace period before `peer:left`, Socket.IO connection state recovery.
 */
import type { RoomJoined } from '@sharesync/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type TestServer } from './support/harness'
import { collect, connectRooms, dropConnection, nextEvent, sleep, until, type ConnectOptions, type RoomsClient } from './support/rooms-client'

describe('P2P devices that reconnect (one instance)', () => {
  let server: TestServer
  const open: RoomsClient[] = []
  const client = async (opts: ConnectOptions = {}) => {
    const s = await connectRooms(server.url, opts)
    open.push(s)
    return s
  }

  beforeAll(async () => {
    server = await startTestServer({ ROOM_RECONNECT_GRACE: '2', ROOM_JOIN_RATE_LIMIT: '1000/1m', ROOM_CREATE_RATE_LIMIT: '1000/1h' })
  })
  afterAll(async () => {
    for (const s of open) s.disconnect()
    await server?.close()
  })

  const ok = <T extends { ok: boolean }>(res: T) => {
    if (!res.ok) throw new Error(JSON.stringify(res))
    return res as Extract<T, { ok: true }>
  }

  /** A creates a resumable room, B joins (resumable too). */
  async function pair(opts: ConnectOptions = {}) {
    const a = await client(opts)
    const b = await client()
    const created = await a.emitWithAck('room:create', { name: 'Alice', resumable: true })
    if (!created.ok) throw new Error(created.error.message)
    const joined = await b.emitWithAck('room:join', { secret: created.room.secret, name: 'Bob', resumable: true })
    if (!joined.ok) throw new Error(joined.error.message)
    return { a, b, created, joined, roomId: created.room.id, pa: created.self.peerId, pb: joined.self.peerId }
  }

  it('a reloaded page gets the same peer id back with its token: the others see "reconnecting" then "back", never left and joined', async () => {
    const { a, b, created, roomId, pa, pb } = await pair()
    expect(created.reconnect).toEqual({ token: expect.stringMatching(new RegExp(`^${roomId}\\.${pa}\\.`)), graceSeconds: 2 })
    expect(created.reconnect!.token).not.toContain(created.room.secret)
    const left = collect(b, 'peer:left')
    const joined = collect(b, 'peer:joined')
    const reconnecting = nextEvent(b, 'peer:reconnecting')
    dropConnection(a)
    expect(await reconnecting).toEqual({ roomId, peerId: pa })

    const reloaded = await client()
    const back = nextEvent(b, 'peer:back')
    const resumed = await reloaded.emitWithAck('room:resume', { token: created.reconnect!.token })
    if (!resumed.ok) throw new Error(resumed.error.message)
    expect(resumed.self).toEqual({ peerId: pa, name: 'Alice', device: expect.any(String) })
    expect(resumed.room.id).toBe(roomId)
    expect(resumed.peers).toEqual([{ peerId: pb, name: 'Bob', device: expect.any(String) }])
    expect(resumed.reconnect.token).not.toBe(created.reconnect!.token)
    expect(await back).toEqual({ roomId, peer: { peerId: pa, name: 'Alice', device: expect.any(String) } })

    // Signals flow to the same peer id, both ways, and the grace period passing changes nothing.
    const atA = nextEvent(reloaded, 'signal')
    expect(await b.emitWithAck('signal', { to: pa, data: { sdp: 'again' } })).toEqual({ ok: true })
    expect(await atA).toEqual({ from: pb, data: { sdp: 'again' } })
    await sleep(2300)
    expect(left).toEqual([])
    expect(joined).toEqual([])
    const atB = nextEvent(b, 'signal')
    expect(await reloaded.emitWithAck('signal', { to: pb, data: 1 })).toEqual({ ok: true })
    expect(await atB).toEqual({ from: pa, data: 1 })
  })

  it('a peer that does not come back within the grace period is announced gone, and its token no longer works', async () => {
    const { a, b, created, roomId, pa } = await pair()
    const left = nextEvent(b, 'peer:left', 5000)
    dropConnection(a)
    await nextEvent(b, 'peer:reconnecting')
    expect(await left).toEqual({ roomId, peerId: pa })
    const late = await client()
    expect(await late.emitWithAck('room:resume', { token: created.reconnect!.token })).toMatchObject({ ok: false, error: { code: 'resume_refused' } })
  })

  it('a used token is refused when replayed, and so are forged ones and tokens of another room', async () => {
    const { a, created, joined, roomId, pa, pb } = await pair()
    const other = await client()
    const otherRoom = await other.emitWithAck('room:create', { resumable: true })
    if (!otherRoom.ok) throw new Error(otherRoom.error.message)
    dropConnection(a)
    const first = await client()
    expect((await first.emitWithAck('room:resume', { token: created.reconnect!.token })).ok).toBe(true)

    const attacker = await client()
    const secretOf = (token: string) => token.split('.')[2]!
    const attempts = [
      created.reconnect!.token, // replayed
      `${roomId}.${pa}.${'A'.repeat(22)}`, // forged secret
      `${roomId}.${pb}.${secretOf(created.reconnect!.token)}`, // someone else's peer id
      `${otherRoom.room.id}.${pa}.${secretOf(created.reconnect!.token)}`, // another room
      `${roomId}.${pa}.${secretOf(otherRoom.reconnect!.token)}`, // another room's token secret
      `${roomId}.${pb}.${created.room.secret}`, // the link secret is not a token
    ]
    for (const token of attempts) expect(await attacker.emitWithAck('room:resume', { token })).toMatchObject({ ok: false, error: { code: 'resume_refused' } })
    // The attacker got nowhere: not a member, and B's seat is B's.
    expect(await attacker.emitWithAck('signal', { to: pa, data: 'x' })).toMatchObject({ ok: false, error: { code: 'forbidden' } })
    expect(joined.ok).toBe(true)
    expect(await server.realtime.io.of('/rooms').fetchSockets().then((all) => all.filter((s) => s.data.peerId === pb).length)).toBe(1)
  })

  it('malformed and hostile resume payloads answer invalid_input, and a flood of them is cut off', async () => {
    const s = await client()
    for (const bad of [{}, { token: 42 }, { token: 'x'.repeat(10_000) }, { token: 'a.b.c' }, { token: `a.b.${'x'.repeat(22)}`, extra: 1 }, null, 'token']) {
      expect(await s.emitWithAck('room:resume', bad as never)).toMatchObject({ ok: false, error: { code: 'invalid_input' } })
    }
    const flooder = await client()
    const gone = nextEvent(flooder, 'disconnect' as never, 5000)
    for (let i = 0; i < 400; i++) flooder.emit('room:resume', { token: `r.p.${'A'.repeat(22)}` }, () => undefined)
    await gone
    expect(s.connected).toBe(true)
  })

  it('a member that did not ask for a token leaves at once when its connection drops', async () => {
    const a = await client()
    const b = await client()
    const created = await a.emitWithAck('room:create', {})
    if (!created.ok) throw new Error(created.error.message)
    expect(created.reconnect).toBeUndefined()
    const joined = (await b.emitWithAck('room:join', { secret: created.room.secret })) as RoomJoined & { ok: true }
    const reconnecting = collect(a, 'peer:reconnecting')
    const left = nextEvent(a, 'peer:left')
    dropConnection(b)
    expect(await left).toEqual({ roomId: created.room.id, peerId: joined.self.peerId })
    expect(reconnecting).toEqual([])
  })

  it('leaving on purpose (room:leave, or closing the socket) is announced at once, without a grace period', async () => {
    const { a, b, roomId, pa, pb } = await pair()
    const leftB = nextEvent(b, 'peer:left')
    expect(await a.emitWithAck('room:leave', {})).toEqual({ ok: true })
    expect(await leftB).toEqual({ roomId, peerId: pa })
    const c = await client()
    const created = await c.emitWithAck('room:create', { resumable: true })
    if (!created.ok) throw new Error(created.error.message)
    await b.emitWithAck('room:join', { secret: created.room.secret, resumable: true })
    const leftC = nextEvent(c, 'peer:left')
    b.disconnect()
    expect(await leftC).toEqual({ roomId: created.room.id, peerId: pb })
  })

  it('resuming while the old connection still looks alive takes the seat over; the old connection is closed', async () => {
    const { a, b, created, pa } = await pair()
    const aClosed = nextEvent(a, 'disconnect' as never)
    const again = await client()
    const back = nextEvent(b, 'peer:back')
    const resumed = await again.emitWithAck('room:resume', { token: created.reconnect!.token })
    expect(resumed).toMatchObject({ ok: true, self: { peerId: pa } })
    await aClosed
    expect((await back).peer.peerId).toBe(pa)
    const atAgain = nextEvent(again, 'signal')
    await b.emitWithAck('signal', { to: pa, data: 'to the new one' })
    expect((await atAgain).data).toBe('to the new one')
    // The old connection's departure does not free the seat now held by the new one.
    await sleep(2300)
    expect(await b.emitWithAck('signal', { to: pa, data: 'still there' })).toEqual({ ok: true })
  })

  it('a resume must name the peer this connection already is, once it holds a seat', async () => {
    const { created } = await pair()
    const busy = await client()
    const own = await busy.emitWithAck('room:create', {})
    expect(own.ok).toBe(true)
    // It holds a seat as another peer: it cannot become A on top of that.
    expect(await busy.emitWithAck('room:resume', { token: created.reconnect!.token })).toMatchObject({ ok: false, error: { code: 'resume_refused' } })
  })

  it('a connection recovered after a drop whose seat was given up (no token) comes back as a new peer in no room', async () => {
    const a = await client({ reconnection: true })
    const b = await client()
    const created = ok(await a.emitWithAck('room:create', {}))
    ok(await b.emitWithAck('room:join', { secret: created.room.secret }))
    const left = nextEvent(b, 'peer:left')
    dropConnection(a)
    await left
    await until(() => a.connected, 'A reconnected')
    expect(a.recovered).toBe(true)
    // Not a member any more: nothing of the room reaches it, and it cannot signal into it.
    const leaked = collect(a, 'peer:joined')
    await client().then((c) => c.emitWithAck('room:join', { secret: created.room.secret }))
    expect(await a.emitWithAck('signal', { to: created.self.peerId, data: 'x' })).toMatchObject({ ok: false, error: { code: 'forbidden' } })
    const rejoined = ok(await a.emitWithAck('room:join', { secret: created.room.secret }))
    expect(rejoined.self.peerId).not.toBe(created.self.peerId)
    expect(leaked).toEqual([])
  })

  it('with connection state recovery, a short drop needs no resume: the seat, the peer id and the signals sent meanwhile come back', async () => {
    const { a, b, roomId, pa, pb } = await pair({ reconnection: true })
    const reconnecting = nextEvent(b, 'peer:reconnecting')
    dropConnection(a)
    await reconnecting
    // Sent while A is away: delivered once it is back.
    expect(await b.emitWithAck('signal', { to: pa, data: { candidate: 'while away' } })).toEqual({ ok: true })
    const missed = nextEvent(a, 'signal')
    const back = nextEvent(b, 'peer:back')
    await until(() => a.connected, 'A reconnected')
    expect(a.recovered).toBe(true)
    expect(await missed).toEqual({ from: pb, data: { candidate: 'while away' } })
    expect(await back).toEqual({ roomId, peer: { peerId: pa, name: 'Alice', device: expect.any(String) } })
    const atB = nextEvent(b, 'signal')
    expect(await a.emitWithAck('signal', { to: pb, data: 'hello again' })).toEqual({ ok: true })
    expect(await atB).toEqual({ from: pa, data: 'hello again' })
  })
})
