import { afterEach, describe, expect, it } from 'vitest'
import { MemoryRelayNetwork } from './relay-bus'
import { RelayHub, type RelayBus, type RelayEndpoint, type RelayFinished, type RelayRules } from './relay-hub'

const RULES: RelayRules = { chunkBytes: 1024, window: 4, stallMs: 200, maxPerSocket: 3, maxEnds: 50 }
const tick = () => new Promise((r) => setImmediate(r))

/** A client as the hub sees it: records what it gets, acknowledges by hand or at once. */
class FakeClient implements RelayEndpoint {
  readonly received: { id: string; data: Buffer | string }[] = []
  readonly closedWith: { id: string; reason: string }[] = []
  readonly openedWith: { id: string; from: string; bytes: number }[] = []
  readonly unacked: ((err: Error | null) => void)[] = []
  constructor(
    readonly conn: string,
    readonly peerId: string,
    public autoAck = true,
  ) {}
  opened(p: { id: string; from: string; bytes: number }) {
    this.openedWith.push(p)
  }
  deliver(p: { id: string; data: Buffer | string }, done: (err: Error | null) => void) {
    this.received.push(p)
    if (this.autoAck) done(null)
    else this.unacked.push(done)
  }
  closed(p: { id: string; reason: string }) {
    this.closedWith.push(p)
  }
  ackAll() {
    for (const done of this.unacked.splice(0)) done(null)
  }
}

const hubs: RelayHub[] = []
function hub(instance: string, clients: FakeClient[], bus: RelayBus | null = null, finished: RelayFinished[] = []) {
  const h = new RelayHub({ instance, rules: RULES, bus, local: (peerId) => clients.find((c) => c.peerId === peerId), finished: (f) => finished.push(f) })
  hubs.push(h)
  return h
}
afterEach(() => {
  for (const h of hubs.splice(0)) h.stop()
})

/** Sends and resolves with the reply (null: acknowledged by the far end). */
const send = (h: RelayHub, from: RelayEndpoint, id: string, data: Buffer | string) => new Promise<string | null>((resolve) => h.data(from, id, data, (err) => resolve(err ? err.code : null)))

describe('relay hub, both ends on one instance', () => {
  it('carries binary and text messages in order, and answers the sender once the receiver acknowledged', async () => {
    const a = new FakeClient('ca', 'pa')
    const b = new FakeClient('cb', 'pb', false)
    const finished: RelayFinished[] = []
    const h = hub('i1', [a, b], null, finished)
    const { id } = h.open(a, { peerId: 'pb', roomId: 'r', instance: 'i1' }, 10_000)
    expect(b.openedWith).toEqual([{ id, from: 'pa', bytes: 10_000, chunkBytes: 1024, window: 4 }])
    let answered = false
    const first = send(h, a, id, Buffer.from([1, 2, 3])).then((r) => ((answered = true), r))
    const second = send(h, a, id, 'eof')
    await tick()
    expect(answered).toBe(false) // not before the receiver consumed it
    expect(b.received.map((m) => m.data)).toEqual([Buffer.from([1, 2, 3]), 'eof'])
    b.ackAll()
    expect(await first).toBeNull()
    expect(await second).toBeNull()
    // And the other way.
    b.autoAck = true
    a.autoAck = true
    expect(await send(h, b, id, 'verified')).toBeNull()
    expect(a.received.map((m) => m.data)).toEqual(['verified'])
    expect(h.close(a, id)).toBe(true)
    expect(b.closedWith).toEqual([{ id, reason: 'closed' }])
    expect(a.closedWith).toEqual([])
    expect(await send(h, a, id, 'late')).toBe('relay_closed')
    // Each end knows what went both ways (the opener's address pays for both).
    expect(finished.map((f) => [f.opener, f.sent, f.received, f.reason]).sort()).toEqual([
      [false, 8, 6, 'closed'],
      [true, 6, 8, 'closed'],
    ])
  })

  it('a sender beyond its window, or past the bytes it opened for, has the channel closed for both', async () => {
    const a = new FakeClient('ca', 'pa')
    const b = new FakeClient('cb', 'pb', false)
    const h = hub('i1', [a, b])
    const { id } = h.open(a, { peerId: 'pb', roomId: 'r', instance: 'i1' }, 100_000)
    const replies = Array.from({ length: 5 }, () => send(h, a, id, Buffer.alloc(10)))
    expect(await replies[4]).toBe('relay_closed')
    expect(await Promise.all(replies.slice(0, 4))).toEqual(['relay_closed', 'relay_closed', 'relay_closed', 'relay_closed'])
    expect(a.closedWith).toEqual([{ id, reason: 'limit' }])
    expect(b.closedWith).toEqual([{ id, reason: 'limit' }])

    const c = new FakeClient('cc', 'pc')
    const d = new FakeClient('cd', 'pd')
    const h2 = hub('i2', [c, d])
    const small = h2.open(c, { peerId: 'pd', roomId: 'r', instance: 'i2' }, 1500)
    expect(await send(h2, c, small.id, Buffer.alloc(1000))).toBeNull()
    expect(await send(h2, c, small.id, Buffer.alloc(501))).toBe('relay_closed')
    expect(d.closedWith).toEqual([{ id: small.id, reason: 'limit' }])
    const big = h2.open(c, { peerId: 'pd', roomId: 'r', instance: 'i2' }, 1e9)
    expect(await send(h2, c, big.id, Buffer.alloc(1025))).toBe('relay_closed')
  })

  it('a message not acknowledged in time closes the channel as stalled', async () => {
    const a = new FakeClient('ca', 'pa')
    const b: FakeClient = Object.assign(new FakeClient('cb', 'pb'), {
      // As Socket.IO's emit timeout would.
      deliver(_p: unknown, done: (err: Error | null) => void) {
        setTimeout(() => done(new Error('operation has timed out')), RULES.stallMs)
      },
    })
    const h = hub('i1', [a, b])
    const { id } = h.open(a, { peerId: 'pb', roomId: 'r', instance: 'i1' }, 1000)
    expect(await send(h, a, id, 'hello?')).toBe('relay_closed')
    expect(a.closedWith).toEqual([{ id, reason: 'stalled' }])
    expect(b.closedWith).toEqual([{ id, reason: 'stalled' }])
  })

  it('a socket that goes closes its channels; the other ends hear peer_gone', async () => {
    const a = new FakeClient('ca', 'pa')
    const b = new FakeClient('cb', 'pb')
    const h = hub('i1', [a, b])
    const one = h.open(a, { peerId: 'pb', roomId: 'r', instance: 'i1' }, 1000)
    const two = h.open(b, { peerId: 'pa', roomId: 'r', instance: 'i1' }, 1000)
    h.drop('ca')
    expect(b.closedWith.sort((x, y) => x.id.localeCompare(y.id))).toEqual([{ id: one.id, reason: 'peer_gone' }, { id: two.id, reason: 'peer_gone' }].sort((x, y) => x.id.localeCompare(y.id)))
    expect(a.closedWith).toEqual([])
    expect(h.openedBy('cb')).toBe(0)
  })

  it('a socket may hold a few channels at once, not more; an absent target is refused', () => {
    const a = new FakeClient('ca', 'pa')
    const b = new FakeClient('cb', 'pb')
    const h = hub('i1', [a, b])
    for (let i = 0; i < 3; i++) h.open(a, { peerId: 'pb', roomId: 'r', instance: 'i1' }, 1)
    expect(() => h.open(a, { peerId: 'pb', roomId: 'r', instance: 'i1' }, 1)).toThrow(expect.objectContaining({ code: 'rate_limited' }))
    expect(() => h.open(b, { peerId: 'nobody', roomId: 'r', instance: 'i1' }, 1)).toThrow(expect.objectContaining({ code: 'conflict' }))
  })
})

describe('relay hub, ends on two instances (over a bus)', () => {
  it('carries messages both ways with the acks crossing back; a close reaches the other instance', async () => {
    const net = new MemoryRelayNetwork()
    const a = new FakeClient('ca', 'pa')
    const b = new FakeClient('cb', 'pb', false)
    const finished: RelayFinished[] = []
    const h1 = hub('i1', [a], net.bus('i1'), finished)
    hub('i2', [b], net.bus('i2'))
    const { id } = h1.open(a, { peerId: 'pb', roomId: 'r', instance: 'i2' }, 10_000)
    await tick()
    expect(b.openedWith).toEqual([{ id, from: 'pa', bytes: 10_000, chunkBytes: 1024, window: 4 }])
    let answered = false
    const reply = send(h1, a, id, Buffer.from('chunk')).then((r) => ((answered = true), r))
    await tick()
    await tick()
    expect(b.received).toEqual([{ id, data: Buffer.from('chunk') }])
    expect(answered).toBe(false)
    b.ackAll()
    expect(await reply).toBeNull()
    b.autoAck = true
    expect(await send(hubs[1]!, b, id, 'back')).toBeNull()
    expect(a.received.map((m) => m.data)).toEqual(['back'])
    h1.close(a, id)
    await tick()
    expect(b.closedWith).toEqual([{ id, reason: 'closed' }])
    // The opener's instance counted the bytes that came back from the other instance too.
    expect(finished.map((f) => [f.opener, f.sent, f.received])).toEqual([[true, 5, 4]])
  })

  it('a target that is not on the instance the store named answers peer_gone', async () => {
    const net = new MemoryRelayNetwork()
    const a = new FakeClient('ca', 'pa')
    const h1 = hub('i1', [a], net.bus('i1'))
    hub('i2', [], net.bus('i2'))
    const { id } = h1.open(a, { peerId: 'pb', roomId: 'r', instance: 'i2' }, 10)
    await tick()
    await tick()
    expect(a.closedWith).toEqual([{ id, reason: 'peer_gone' }])
  })

  it('an instance that never acknowledges (frozen) stalls the channel on the sending side', async () => {
    const net = new MemoryRelayNetwork()
    const a = new FakeClient('ca', 'pa')
    const h1 = hub('i1', [a], net.bus('i1'))
    const frozen = net.bus('i2')
    frozen.listen(() => undefined) // receives, never answers
    const { id } = h1.open(a, { peerId: 'pb', roomId: 'r', instance: 'i2' }, 10)
    expect(await send(h1, a, id, 'x')).toBe('relay_closed')
    expect(a.closedWith).toEqual([{ id, reason: 'stalled' }])
  })
})
