/**
 * P2P rooms over the real Socket.IO server (socket.io-client against startTestServer): codes and
 * links, membership, relay with server-stamped `from`, throttling, frame size, capacity, reports.
 */
import { createHmac } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { p2pRepo } from '../src/db/p2p.repo'
import { startTestServer, type TestServer } from './support/harness'
import { collect, connectRooms, nextEvent, reportTransfer, sleep, type RoomsClient } from './support/rooms-client'

const CHROME_ON_PIXEL = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36'

describe('P2P rooms (one instance)', () => {
  let server: TestServer
  const open: RoomsClient[] = []
  const client = async (opts: { headers?: Record<string, string> } = {}) => {
    const s = await connectRooms(server.url, opts)
    open.push(s)
    return s
  }

  beforeAll(async () => {
    server = await startTestServer({ ROOM_CAPACITY: '3', ROOM_JOIN_RATE_LIMIT: '1000/1m', ROOM_CREATE_RATE_LIMIT: '1000/1h' })
  })
  afterAll(async () => {
    for (const s of open) s.disconnect()
    await server?.close()
  })

  async function roomOfTwo() {
    const a = await client({ headers: { 'user-agent': CHROME_ON_PIXEL } })
    const b = await client()
    const created = await a.emitWithAck('room:create', { name: 'Alice phone' })
    if (!created.ok) throw new Error(created.error.message)
    const joined = await b.emitWithAck('room:join', { code: created.room.code, name: 'Bob laptop' })
    if (!joined.ok) throw new Error(joined.error.message)
    return { a, b, created, joined, pa: created.self.peerId, pb: joined.self.peerId }
  }

  it('a peer joins by code, sees who is in the room, and signals flow both ways with from stamped by the server', async () => {
    const a = await client({ headers: { 'user-agent': CHROME_ON_PIXEL } })
    const b = await client()
    const created = await a.emitWithAck('room:create', { name: '  Alice phone ' })
    expect(created.ok).toBe(true)
    if (!created.ok) return
    expect(created.room.code).toMatch(/^[2-9A-HJ-NP-Z]{6}$/)
    expect(created.room.secret.length).toBeGreaterThanOrEqual(22) // ≥128 bits, base64url
    expect(created.room.link).toBe(`http://${new URL(server.url).host}/r/${created.room.secret}`)
    expect(created.self).toEqual({ peerId: expect.stringMatching(/^[A-Za-z0-9_-]{16}$/), name: 'Alice phone', device: 'Pixel 8 · Chrome' })
    // Peer ids are the server's, not the Socket.IO connection ids.
    expect(created.self.peerId).not.toBe(a.id)
    const pa = created.self.peerId

    const joinedSeen = nextEvent(a, 'peer:joined')
    // Typed loosely by people: lower case, a dash in the middle.
    const code = `${created.room.code.slice(0, 3).toLowerCase()}-${created.room.code.slice(3)}`
    const joined = await b.emitWithAck('room:join', { code, name: 'Bob laptop' })
    expect(joined.ok).toBe(true)
    if (!joined.ok) return
    expect(joined.room.id).toBe(created.room.id)
    expect(joined.peers).toEqual([{ peerId: pa, name: 'Alice phone', device: 'Pixel 8 · Chrome' }])
    const pb = joined.self.peerId
    expect(await joinedSeen).toEqual({ roomId: created.room.id, peer: { peerId: pb, name: 'Bob laptop', device: expect.any(String) } })

    const atA = nextEvent(a, 'signal')
    expect(await b.emitWithAck('signal', { to: pa, data: { sdp: 'offer-from-b' } })).toEqual({ ok: true })
    expect(await atA).toEqual({ from: pb, data: { sdp: 'offer-from-b' } })

    const atB = nextEvent(b, 'signal')
    expect(await a.emitWithAck('signal', { to: pb, data: { candidate: 'c1' } })).toEqual({ ok: true })
    expect(await atB).toEqual({ from: pa, data: { candidate: 'c1' } })
  })

  it('a socket outside the room cannot signal its members: error ack, nothing delivered', async () => {
    const { a, b, pa, pb } = await roomOfTwo()
    const c = await client()
    await c.emitWithAck('room:create', {}) // C is in a room of its own
    const atA = collect(a, 'signal')
    const atB = collect(b, 'signal')
    const toA = await c.emitWithAck('signal', { to: pa, data: { sdp: 'evil' } })
    const toB = await c.emitWithAck('signal', { to: pb, data: { sdp: 'evil' } })
    expect(toA).toMatchObject({ ok: false, error: { code: 'forbidden' } })
    expect(toB).toMatchObject({ ok: false, error: { code: 'forbidden' } })
    const lone = await client() // in no room at all
    expect(await lone.emitWithAck('signal', { to: pa, data: 'x' })).toMatchObject({ ok: false, error: { code: 'forbidden' } })
    // Nor by the Socket.IO connection id (that is not a peer id).
    expect(await c.emitWithAck('signal', { to: a.id!, data: 'x' })).toMatchObject({ ok: false, error: { code: 'forbidden' } })
    await sleep(300)
    expect(atA).toEqual([])
    expect(atB).toEqual([])
  })

  it('a forged from is replaced by the real sender', async () => {
    const { a, b, pa, pb } = await roomOfTwo()
    const c = await client()
    const atA = nextEvent(a, 'signal')
    // An extra field is dropped by the schema; `from` is always set by the server.
    const forged = { to: pa, data: { sdp: 'x' }, from: c.id } as { to: string; data: { sdp: string } }
    expect(await b.emitWithAck('signal', forged)).toEqual({ ok: true })
    expect((await atA).from).toBe(pb)
  })

  it('a wrong code fails with room_not_found, and so does a malformed one (invalid_input)', async () => {
    const b = await client()
    expect(await b.emitWithAck('room:join', { code: 'ZZZZZZ' })).toMatchObject({ ok: false, error: { code: 'room_not_found' } })
    expect(await b.emitWithAck('room:join', { code: 'O0' })).toMatchObject({ ok: false, error: { code: 'invalid_input' } })
    expect(await b.emitWithAck('room:join', { secret: 'A'.repeat(24) })).toMatchObject({ ok: false, error: { code: 'room_not_found' } })
  })

  it('a full room refuses one more device (room_full)', async () => {
    const { created } = await roomOfTwo()
    const c = await client()
    expect((await c.emitWithAck('room:join', { secret: created.room.secret })).ok).toBe(true)
    const d = await client()
    expect(await d.emitWithAck('room:join', { secret: created.room.secret })).toMatchObject({ ok: false, error: { code: 'room_full' } })
  })

  it('members see a peer leave, and the room ends with its last member', async () => {
    const { a, b, created, pb } = await roomOfTwo()
    const left = nextEvent(a, 'peer:left')
    b.disconnect()
    expect(await left).toEqual({ roomId: created.room.id, peerId: pb })
    expect(await a.emitWithAck('room:leave', {})).toEqual({ ok: true })
    await sleep(50)
    const late = await client()
    expect(await late.emitWithAck('room:join', { secret: created.room.secret })).toMatchObject({ ok: false, error: { code: 'room_not_found' } })
  })

  it('a flood of 1 000 events in a second is throttled and cut off, while the peers keep working', async () => {
    const { a, b, created, pa, pb } = await roomOfTwo()
    // The flooder is a member of the same room, so its signals would otherwise all reach A.
    const flooder = await client()
    expect((await flooder.emitWithAck('room:join', { secret: created.room.secret })).ok).toBe(true)
    const fromFlooder = collect(a, 'signal')
    const disconnected = nextEvent(flooder, 'disconnect' as never, 5000)
    let accepted = 0
    let throttled = 0
    for (let i = 0; i < 1000; i++) {
      flooder.emit('signal', { to: pa, data: { i } }, (res) => (res.ok ? accepted++ : throttled++))
    }
    // Meanwhile A and B signal as usual.
    const latencies: number[] = []
    for (let i = 0; i < 20; i++) {
      const t = performance.now()
      const got = nextEvent(b, 'signal')
      expect((await a.emitWithAck('signal', { to: pb, data: { i } })).ok).toBe(true)
      expect((await got).data).toEqual({ i })
      latencies.push(performance.now() - t)
    }
    await disconnected
    expect(flooder.connected).toBe(false)
    await sleep(200)
    expect(throttled).toBeGreaterThan(0)
    expect(accepted + throttled).toBeLessThan(1000) // cut off before it got all its answers
    expect(fromFlooder.length).toBeGreaterThan(0) // a normal burst passes…
    expect(fromFlooder.length).toBeLessThanOrEqual(150) // …the flood does not
    expect(Math.max(...latencies)).toBeLessThan(1000)
  })

  it('big signals are budgeted by size: a stream of 60 KB signals is throttled after ~256 KB, small ones keep flowing', async () => {
    const { a, b, pa, pb } = await roomOfTwo()
    const atA = collect(a, 'signal')
    const answers = []
    for (let i = 0; i < 10; i++) answers.push(await b.emitWithAck('signal', { to: pa, data: 'x'.repeat(60 * 1024) }))
    const accepted = answers.filter((r) => r.ok).length
    expect(accepted).toBeGreaterThanOrEqual(4)
    expect(accepted).toBeLessThanOrEqual(5)
    expect(answers.filter((r) => !r.ok && r.error.code === 'rate_limited')).toHaveLength(10 - accepted)
    await sleep(100)
    expect(atA).toHaveLength(accepted)
    // A's own budget is untouched.
    expect(await a.emitWithAck('signal', { to: pb, data: { candidate: 'c' } })).toEqual({ ok: true })
  })

  it('a 2 MB payload is rejected: the sender is disconnected and nothing is delivered', async () => {
    const { a, b, pa } = await roomOfTwo()
    const atA = collect(a, 'signal')
    const gone = nextEvent(b, 'disconnect' as never, 5000)
    b.emit('signal', { to: pa, data: 'x'.repeat(2 * 1024 * 1024) }, () => undefined)
    await gone
    await sleep(200)
    expect(atA).toEqual([])
    expect(a.connected).toBe(true)
  })

  it('a browser from a foreign origin cannot connect; the app origin can', async () => {
    await expect(connectRooms(server.url, { headers: { origin: 'http://evil.example' } })).rejects.toThrow()
    const ok = await client({ headers: { origin: server.url } })
    expect(ok.connected).toBe(true)
  })

  it('transfer reports keep sizes, counts and timing for the stats, and live counters see the room', async () => {
    const { a, b, created } = await roomOfTwo()
    const id = 'keeps-stats-1'
    expect(await a.emitWithAck('transfer:started', { id, bytes: 200 * 2 ** 20, files: 2 })).toEqual({ ok: true })
    const live = await server.realtime.roomsStats()
    expect(live.transfersInProgress).toBeGreaterThanOrEqual(1)
    expect(live.rooms).toBeGreaterThanOrEqual(1)
    expect(live.peers).toBeGreaterThanOrEqual(2)
    expect(await a.emitWithAck('transfer:report', { id, bytes: 200 * 2 ** 20, files: 2, ms: 6000, status: 'completed' })).toEqual({ ok: true })
    expect(await b.emitWithAck('transfer:report', { id, bytes: -1, files: 1, ms: 1, status: 'completed' })).toMatchObject({ ok: false, error: { code: 'invalid_input' } })
    const rows = await p2pRepo(server.deps.db).recent(10)
    expect(rows.find((r) => r.roomId === created.room.id)).toMatchObject({ bytes: 200 * 2 ** 20, files: 2, ms: 6000, status: 'completed', senderUserId: null })
    expect(rows.filter((r) => r.roomId === created.room.id)).toHaveLength(1)
  })

  it('a room member cannot inflate the dashboard: 2^53 bytes, a transfer never announced, another peer\'s transfer and a second report are all refused', async () => {
    const { a, b, created } = await roomOfTwo()
    const id = 'inflate-try-1'
    expect(await a.emitWithAck('transfer:started', { id, bytes: 1000, files: 1 })).toEqual({ ok: true })
    const refused = [
      await a.emitWithAck('transfer:report', { id, bytes: Number.MAX_SAFE_INTEGER, files: 1, ms: 10, status: 'completed' }),
      await a.emitWithAck('transfer:report', { id, bytes: 1000, files: 2, ms: 10, status: 'completed' }),
      await a.emitWithAck('transfer:report', { id: 'never-announced', bytes: 1, files: 1, ms: 10, status: 'completed' }),
      await b.emitWithAck('transfer:report', { id, bytes: 1000, files: 1, ms: 10, status: 'completed' }),
    ]
    expect(refused.map((r) => (r.ok ? 'ok' : r.error.code))).toEqual(['invalid_input', 'invalid_input', 'forbidden', 'forbidden'])
    expect(await a.emitWithAck('transfer:report', { id, bytes: 1000, files: 1, ms: 10, status: 'completed' })).toEqual({ ok: true })
    expect(await a.emitWithAck('transfer:report', { id, bytes: 1000, files: 1, ms: 10, status: 'completed' })).toMatchObject({ ok: false, error: { code: 'forbidden' } })
    const rows = (await p2pRepo(server.deps.db).recent(100)).filter((r) => r.roomId === created.room.id)
    expect(rows.map((r) => r.bytes)).toEqual([1000])
  })

  it('transfer reports cannot be used to flood the database', async () => {
    const { a, created } = await roomOfTwo()
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => a.emitWithAck('transfer:report', { id: `flood-${i}-xx`, bytes: 1, files: 1, ms: 1, status: 'completed' })))
    expect(answers.filter((r) => r.ok)).toEqual([])
    expect(answers.filter((r) => !r.ok && r.error.code === 'rate_limited').length).toBeGreaterThan(0)
    const rows = await p2pRepo(server.deps.db).recent(100)
    expect(rows.filter((r) => r.roomId === created.room.id)).toHaveLength(0)
  })
})

describe('P2P transfer reports: the per-room budget', () => {
  let server: TestServer
  const open: RoomsClient[] = []
  beforeAll(async () => {
    server = await startTestServer({ ROOM_REPORT_RATE_LIMIT: '3/1h' })
  })
  afterAll(async () => {
    for (const s of open) s.disconnect()
    await server?.close()
  })

  it('a room stores only so many reports, whichever of its members sends them', async () => {
    const a = await connectRooms(server.url)
    const b = await connectRooms(server.url)
    open.push(a, b)
    const created = await a.emitWithAck('room:create', {})
    if (!created.ok) throw new Error(created.error.message)
    expect((await b.emitWithAck('room:join', { secret: created.room.secret })).ok).toBe(true)
    const stats = { bytes: 10, files: 1, ms: 5, status: 'completed' as const }
    const answers = []
    for (const sender of [a, b, a, b]) answers.push(await reportTransfer(sender, stats))
    expect(answers.map((r) => (r.ok ? 'ok' : r.error.code))).toEqual(['ok', 'ok', 'ok', 'rate_limited'])
    const rows = (await p2pRepo(server.deps.db).recent(100)).filter((r) => r.roomId === created.room.id)
    expect(rows).toHaveLength(3)
  })
})

describe('P2P room codes', () => {
  let server: TestServer
  const open: RoomsClient[] = []
  beforeAll(async () => {
    server = await startTestServer({ ROOM_CODE_TTL: '1', ROOM_JOIN_RATE_LIMIT: '4/1m' })
  })
  afterAll(async () => {
    for (const s of open) s.disconnect()
    await server?.close()
  })

  it('an expired code fails while the link keeps working; code attempts are rate-limited per client', async () => {
    const a = await connectRooms(server.url)
    const b = await connectRooms(server.url)
    open.push(a, b)
    const created = await a.emitWithAck('room:create', {})
    if (!created.ok) throw new Error(created.error.message)
    await sleep(1300)
    expect(await b.emitWithAck('room:join', { code: created.room.code })).toMatchObject({ ok: false, error: { code: 'room_not_found' } })
    expect((await b.emitWithAck('room:join', { secret: created.room.secret })).ok).toBe(true)
    await b.emitWithAck('room:leave', {})
    // 4 attempts per minute: the 1st was above, 3 more are allowed, the 5th is refused even with a real code.
    for (let i = 0; i < 3; i++) expect(await b.emitWithAck('room:join', { code: 'ZZZZZZ' })).toMatchObject({ ok: false, error: { code: 'room_not_found' } })
    const fresh = await a.emitWithAck('room:create', {})
    if (!fresh.ok) throw new Error(fresh.error.message)
    expect(await b.emitWithAck('room:join', { code: fresh.room.code })).toMatchObject({ ok: false, error: { code: 'rate_limited' } })
  })
})

describe('P2P room codes guessed from rotating IPv6 addresses', () => {
  let server: TestServer
  const open: RoomsClient[] = []
  beforeAll(async () => {
    server = await startTestServer({ TRUST_PROXY: 'loopback', ROOM_JOIN_RATE_LIMIT: '3/1m' })
  })
  afterAll(async () => {
    for (const s of open) s.disconnect()
    await server?.close()
  })
  const from = async (address: string) => {
    const s = await connectRooms(server.url, { headers: { 'x-forwarded-for': address } })
    open.push(s)
    return s
  }

  it('code guesses from 2001:db8::1, ::2 and ::3 share one counter (a /64 is one client); the next /64 is not affected', async () => {
    for (const address of ['2001:db8::1', '2001:db8::2', '2001:db8::3']) {
      expect(await (await from(address)).emitWithAck('room:join', { code: 'ZZZZZZ' })).toMatchObject({ ok: false, error: { code: 'room_not_found' } })
    }
    expect(await (await from('2001:db8::4')).emitWithAck('room:join', { code: 'ZZZZZZ' })).toMatchObject({ ok: false, error: { code: 'rate_limited' } })
    expect(await (await from('2001:db8:0:1::1')).emitWithAck('room:join', { code: 'ZZZZZZ' })).toMatchObject({ ok: false, error: { code: 'room_not_found' } })
  })
})

describe('GET /api/rtc/ice-servers', () => {
  it('answers STUN urls and time-limited TURN REST credentials that coturn can verify', async () => {
    const server = await startTestServer({ STUN_URLS: 'stun:stun.example:3478', TURN_URLS: 'turn:turn.example:3478?transport=udp,turns:turn.example:5349', TURN_SECRET: 's3cret', TURN_TTL: '1h' })
    try {
      const res = await server.fetch('/api/rtc/ice-servers')
      expect(res.status).toBe(200)
      expect(res.headers.get('cache-control')).toBe('no-store')
      const body = (await res.json()) as { iceServers: { urls: string[]; username?: string; credential?: string }[]; ttl: number }
      expect(body.ttl).toBe(3600)
      expect(body.iceServers[0]).toEqual({ urls: ['stun:stun.example:3478'] })
      const turn = body.iceServers[1]!
      expect(turn.urls).toEqual(['turn:turn.example:3478?transport=udp', 'turns:turn.example:5349'])
      const [expiry] = turn.username!.split(':')
      expect(Number(expiry) - Date.now() / 1000).toBeGreaterThan(3500)
      expect(Number(expiry) - Date.now() / 1000).toBeLessThanOrEqual(3600)
      expect(turn.credential).toBe(createHmac('sha1', 's3cret').update(turn.username!).digest('base64'))
      expect(JSON.stringify(body)).not.toContain('s3cret')
    } finally {
      await server.close()
    }
  })

  it('answers an empty list without STUN/TURN (a LAN needs none)', async () => {
    const server = await startTestServer()
    try {
      expect(await (await server.fetch('/api/rtc/ice-servers')).json()).toEqual({ iceServers: [], ttl: 0 })
    } finally {
      await server.close()
    }
  })
})
