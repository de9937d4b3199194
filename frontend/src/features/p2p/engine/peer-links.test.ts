import type { Peer, PeerMessage, PeerSignal } from '@sharesync/protocol'
import { describe, expect, it } from 'vitest'
import { PeerLinks, type PeerLinksHost } from './peer-links'
import type { Pipe } from './pipe'
import type { PeerPort, PeerPortEvents, SignalingEvents, SignalingPort } from './ports'
import { RelayLink, type RelayOpenResult } from './relay'
import type { LinkPath, LinkState, RoomEvent } from './room-machine'

const me: Peer = { peerId: 'm', name: 'Me', device: '' }
const smaller: Peer = { peerId: 'a', name: 'Alice', device: '' }
const larger: Peer = { peerId: 'z', name: 'Zoe', device: '' }
const tick = () => new Promise((r) => setTimeout(r, 0))

/** A direct link the test drives: its state changes when the test says so. */
class FakeLink implements PeerPort {
  state: LinkState = 'connecting'
  path: LinkPath | null = null
  closed = false
  readonly signals: unknown[] = []
  readonly sent: PeerMessage[] = []
  constructor(
    readonly remoteId: string,
    readonly initiator: boolean,
    readonly events: PeerPortEvents,
  ) {}
  async start() {}
  async handleSignal(data: unknown) {
    this.signals.push(data)
  }
  send(msg: PeerMessage) {
    if (this.state !== 'connected') return false
    this.sent.push(msg)
    return true
  }
  async openPipe(): Promise<Pipe> {
    throw new Error('not in these tests')
  }
  chunkSize() {
    return 16 * 1024
  }
  close() {
    this.closed = true
    this.state = 'closed'
  }
  fail() {
    this.state = 'failed'
    this.events.state('failed', null)
  }
}

/** The server as the registry sees it: records signals and relay calls, answers relay:open as told. */
class FakeSignaling implements SignalingPort {
  readonly signals: { to: string; data: PeerSignal }[] = []
  readonly opens: { to: string; bytes: number }[] = []
  readonly closedRelays: string[] = []
  readonly relayed: { id: string; data: unknown }[] = []
  answer: RelayOpenResult = { ok: true, relay: { id: 'relay-1', chunkBytes: 64 * 1024, window: 8 } }
  on(_events: SignalingEvents) {}
  async enter(): Promise<never> {
    throw new Error('not in these tests')
  }
  async joinNearby() {
    return null
  }
  leaveNearby() {}
  signal(to: string, data: PeerSignal) {
    this.signals.push({ to, data })
  }
  transferStarted() {}
  transferReport() {}
  leave() {}
  async openRelay(to: string, bytes: number) {
    this.opens.push({ to, bytes })
    return this.answer
  }
  relayData(id: string, data: Uint8Array<ArrayBuffer> | string, done: (ok: boolean) => void) {
    this.relayed.push({ id, data })
    done(true)
  }
  closeRelay(id: string) {
    this.closedRelays.push(id)
  }
}

function setup(peers: Peer[] = [smaller, larger], relayOff = false) {
  const signaling = new FakeSignaling()
  const made: FakeLink[] = []
  const events: RoomEvent[] = []
  const host: PeerLinksHost & { states: [string, LinkState][]; gone: [string, string][]; channels: string[]; messages: [string, PeerMessage][] } = {
    states: [],
    gone: [],
    channels: [],
    messages: [],
    self: () => me,
    peers: () => peers,
    relayOff: () => relayOff,
    roomEvent: (e) => events.push(e),
    linkState: (peerId, state) => host.states.push([peerId, state]),
    linkGone: (peerId, why) => host.gone.push([peerId, why]),
    message: (peerId, msg) => host.messages.push([peerId, msg]),
    channel: (peerId, pipe) => {
      host.channels.push(`${peerId} ${pipe.label}`)
    },
  }
  const links = new PeerLinks(signaling, (remoteId, initiator, _ice, _signal, ev) => {
    const link = new FakeLink(remoteId, initiator, ev)
    made.push(link)
    return link
  }, host)
  return { links, signaling, made, events, host }
}

describe('peer links (the registry of one link per peer)', () => {
  it('a peer that appears gets one link, offered by the smaller id, and is told to start afresh; announced again, it keeps it until that link gave up', () => {
    const { links, signaling, made } = setup()
    links.add(smaller)
    links.add(larger)
    links.add(smaller)
    expect(made.map((l) => [l.remoteId, l.initiator])).toEqual([
      ['a', false],
      ['z', true],
    ])
    expect(signaling.signals).toEqual([
      { to: 'a', data: { reset: true } },
      { to: 'z', data: { reset: true } },
    ])
    made[0]!.state = 'failed'
    links.add(smaller)
    expect(made[0]!.closed).toBe(true)
    expect(links.get('a')).toBe(made[2])
  })

  it('a signal from a device not announced yet makes its link only when that device is the offering side (smaller id)', async () => {
    const { links, made } = setup()
    links.signal('a', { description: { type: 'offer', sdp: 'v=0' } })
    links.signal('z', { description: { type: 'offer', sdp: 'v=0' } })
    await tick()
    expect(made.map((l) => l.remoteId)).toEqual(['a'])
    expect(made[0]!.signals).toEqual([{ description: { type: 'offer', sdp: 'v=0' } }])
  })

  it('a reset from the peer replaces a live link and interrupts its transfers; a peer that leaves closes its link', () => {
    const { links, made, host, events } = setup()
    links.add(smaller)
    made[0]!.state = 'connected'
    links.signal('a', { reset: true })
    expect(made[0]!.closed).toBe(true)
    expect(links.get('a')).toBe(made[1])
    expect(host.gone).toEqual([['a', 'lost']])
    links.remove('a', 'left')
    expect(made[1]!.closed).toBe(true)
    expect(links.get('a')).toBeUndefined()
    expect(host.gone).toEqual([
      ['a', 'lost'],
      ['a', 'left'],
    ])
    expect(events.at(-1)).toEqual({ type: 'peer-left', peerId: 'a' })
  })

  it("a page going away says bye to every peer it is connected to; a peer's bye closes its link at once and interrupts its transfers (lost, not left), without trying the relay, and its next announcement makes a new link", async () => {
    const { links, signaling, made, host, events } = setup()
    links.add(smaller)
    links.add(larger)
    made[0]!.state = 'connected'
    links.sayBye()
    expect(made.map((l) => l.sent)).toEqual([[{ t: 'bye' }], []])

    made[0]!.events.message({ t: 'bye' })
    await tick()
    expect(made[0]!.closed).toBe(true)
    expect(host.gone).toEqual([['a', 'lost']])
    expect(events.at(-1)).toEqual({ type: 'link', peerId: 'a', link: 'closed', path: null })
    expect(host.messages).toEqual([])
    expect(signaling.opens).toEqual([])
    // Repeated (or flooded), it changes nothing more.
    const heard = events.length
    for (let i = 0; i < 1000; i++) made[0]!.events.message({ t: 'bye' })
    expect(host.gone).toEqual([['a', 'lost']])
    expect(events.length).toBe(heard)
    // Still listed (its seat is held through a reload); announced again, it gets a new link.
    expect(events).not.toContainEqual({ type: 'peer-left', peerId: 'a' })
    links.add(smaller)
    expect(links.get('a')).toBe(made[2])
    // A late bye on the replaced link changes nothing.
    made[0]!.events.message({ t: 'bye' })
    expect(made[2]!.closed).toBe(false)
    expect(host.gone).toEqual([['a', 'lost']])
    // Any other message goes on to the session.
    made[1]!.events.message({ t: 'decline', id: 'abcdefgh' })
    expect(host.messages).toEqual([['z', { t: 'decline', id: 'abcdefgh' }]])
  })

  it('a direct link that fails falls back to the server relay: the smaller id opens the control channel and the link becomes a relay link', async () => {
    const { links, signaling, made, host } = setup()
    links.add(larger)
    made[0]!.fail()
    await tick()
    expect(signaling.opens).toEqual([{ to: 'z', bytes: 4 * 1024 * 1024 + 4096 }])
    const link = links.get('z')
    expect(link).toBeInstanceOf(RelayLink)
    expect(made[0]!.closed).toBe(true)
    expect(host.states).toEqual([
      ['z', 'failed'],
      ['z', 'connected'],
    ])
    // The control channel is named first, then the hello goes out on it.
    expect(signaling.relayed.map((m) => m.data)).toEqual([JSON.stringify({ t: 'label', label: 'control' }), expect.stringContaining('"t":"hello"')])
    // A transfer channel the peer opens through the relay reaches the host by its label.
    links.relayOpened({ id: 'relay-2', from: 'z', chunkBytes: 64 * 1024, window: 8 })
    links.relayData('relay-2', JSON.stringify({ t: 'label', label: 'x:abcdefgh:0' }))
    expect(host.channels).toEqual(['z x:abcdefgh:0'])
  })

  it('the larger id only asks whether there is a relay; switched off, the room hears relay-off (and a device that knows it is off does not ask)', async () => {
    const { links, signaling, made, events } = setup()
    signaling.answer = { ok: false, code: 'relay_disabled', message: 'off' }
    links.add(smaller)
    made[0]!.fail()
    await tick()
    expect(signaling.opens).toEqual([{ to: 'a', bytes: 0 }])
    expect(links.get('a')).toBe(made[0])
    expect(events).toContainEqual({ type: 'relay-off' })

    const off = setup(undefined, true)
    off.links.add(larger)
    off.made[0]!.fail()
    await tick()
    expect(off.signaling.opens).toEqual([])
  })

  it('a relay channel from a peer without a relay link, or a control channel from a stranger, is closed', () => {
    const { links, signaling, host } = setup()
    links.add(smaller)
    links.relayOpened({ id: 'r-transfer', from: 'a', chunkBytes: 1024, window: 8 })
    links.relayData('r-transfer', JSON.stringify({ t: 'label', label: 'x:abcdefgh:0' }))
    links.relayOpened({ id: 'r-stranger', from: 'nobody', chunkBytes: 1024, window: 8 })
    links.relayData('r-stranger', JSON.stringify({ t: 'label', label: 'control' }))
    expect(signaling.closedRelays).toEqual(['r-transfer', 'r-stranger'])
    expect(host.channels).toEqual([])
  })
})
