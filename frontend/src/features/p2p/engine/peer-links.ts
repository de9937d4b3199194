import type { Peer, PeerMessage } from '@sharesync/protocol'
import type { Pipe } from './pipe'
import type { PeerFactory, PeerPort, PeerPortEvents, SignalingPort } from './ports'
import { RelayLink, RelayPipe, acceptRelayPipe, openRelayPipe } from './relay'
import type { LinkPath, LinkState, RoomEvent } from './room-machine'

/** What the peer registry needs from the session that owns it. */
export interface PeerLinksHost {
  /** this device, once it has a seat */
  self(): Peer | null
  /** the peers the room currently lists */
  peers(): readonly Peer[]
  /** the server said its relay is switched off */
  relayOff(): boolean
  roomEvent(e: RoomEvent): void
  /** a link to `peerId` changed state (its transfers follow) */
  linkState(peerId: string, state: LinkState, path: LinkPath | null): void
  /** the link to `peerId` is gone (its transfers are interrupted or end) */
  linkGone(peerId: string, why: 'left' | 'lost'): void
  message(peerId: string, msg: PeerMessage): void
  /** the peer opened a transfer channel */
  channel(peerId: string, pipe: Pipe): void
}

/**
 * The peer registry: one link per peer in the room — a direct WebRTC link, or the server relay
 * standing in when no direct connection can be made — created when a peer appears, replaced when
 * either side starts afresh, closed when it leaves. Relay channels are routed to their pipes here.
 */
export class PeerLinks {
  private readonly links = new Map<string, PeerPort>()
  private readonly relays = new Map<string, RelayPipe>()
  /** ICE servers for links made from now on (TURN credentials are refreshed by the session) */
  iceServers: RTCIceServer[] = []

  constructor(
    private readonly signaling: SignalingPort,
    private readonly makePeer: PeerFactory,
    private readonly host: PeerLinksHost,
  ) {}

  get(peerId: string): PeerPort | undefined {
    return this.links.get(peerId)
  }

  isConnected(peerId: string): boolean {
    return this.links.get(peerId)?.state === 'connected'
  }

  peerIds(): string[] {
    return [...this.links.keys()]
  }

  /** A peer appeared (joined, came back, or announced again after a long cut). */
  add(peer: Peer) {
    const self = this.host.self()
    if (!self || peer.peerId === self.peerId) return
    this.host.roomEvent({ type: 'peer-joined', peer })
    const existing = this.links.get(peer.peerId)
    // A link that gave up (a long cut) is replaced when the peer is announced again.
    if (existing && (existing.state === 'failed' || existing.state === 'closed')) {
      this.links.delete(peer.peerId)
      existing.close()
    } else if (existing) return
    const link: PeerPort = this.makePeer(peer.peerId, self.peerId < peer.peerId, this.iceServers, (data) => this.signaling.signal(peer.peerId, data), this.linkEvents(peer.peerId, () => link))
    this.links.set(peer.peerId, link)
    // A new connection to a peer we may have known under the same id (it reloaded, or this page
    // did): it drops whatever old connection it still holds for us and starts afresh.
    this.signaling.signal(peer.peerId, { reset: true })
    link.start().catch(() => this.onLinkState(peer.peerId, 'failed', null))
  }

  /** The peer left (or this device did): its link closes. */
  remove(peerId: string, why: 'left' | 'lost') {
    const link = this.links.get(peerId)
    this.links.delete(peerId)
    link?.close()
    this.host.roomEvent({ type: 'peer-left', peerId })
    this.host.linkGone(peerId, why)
  }

  removeAll(why: 'left' | 'lost') {
    for (const peerId of this.peerIds()) this.remove(peerId, why)
  }

  /** This page is going away: every peer hears it now, not when its ICE notices (seconds later). */
  sayBye() {
    for (const link of this.links.values()) link.send({ t: 'bye' })
  }

  signal(from: string, data: unknown) {
    if (typeof data === 'object' && data !== null && 'reset' in data) return this.reset(from)
    if (!this.links.has(from)) {
      // A signal can overtake its peer:joined; the offer side is always the smaller id.
      const self = this.host.self()
      if (!self || from > self.peerId) return
      this.add({ peerId: from, name: 'Device', device: '' })
    }
    this.links
      .get(from)!
      .handleSignal(data)
      .catch(() => this.onLinkState(from, 'failed', null))
  }

  relayOpened(opened: { id: string; from: string; chunkBytes: number; window: number }) {
    const pipe = acceptRelayPipe(this.signaling, opened, (named) => {
      if (named.label === 'control') return this.host.peers().some((p) => p.peerId === opened.from) ? this.useRelay(opened.from, named) : named.close()
      if (this.links.get(opened.from) instanceof RelayLink) this.host.channel(opened.from, named)
      else named.close()
    })
    this.register(pipe)
  }

  relayData(id: string, data: ArrayBuffer | string) {
    this.relays.get(id)?.deliver(data)
  }

  relayClosed(id: string) {
    this.relays.get(id)?.ended()
  }

  /** The peer made a new connection for us: an old link of ours to it is dead, make a new one too. */
  private reset(peerId: string) {
    const link = this.links.get(peerId)
    const peer = this.host.peers().find((p) => p.peerId === peerId)
    if (!link || !peer || link.state === 'connecting') return
    this.links.delete(peerId)
    link.close()
    this.host.linkGone(peerId, 'lost')
    this.host.roomEvent({ type: 'link', peerId, link: 'connecting', path: null })
    this.add(peer)
  }

  /**
   * The peer's page went away (it said `bye`): its link closes now and its transfers are interrupted.
   * The peer stays listed (the server holds its seat through a reload); a new link is made when it
   * is announced again.
   */
  private gone(peerId: string) {
    const link = this.links.get(peerId)
    // Said once is enough: a peer repeating it (or flooding it) changes nothing more.
    if (!link || link.state === 'closed') return
    link.close()
    this.host.roomEvent({ type: 'link', peerId, link: 'closed', path: null })
    this.host.linkGone(peerId, 'lost')
  }

  /** A link's events, ignored once the link was replaced (by a new one or by the relay). */
  private linkEvents(peerId: string, self: () => PeerPort): PeerPortEvents {
    const current = () => this.links.get(peerId) === self()
    return {
      state: (state, path) => {
        if (!current()) return
        // No direct connection (or it broke for good): the server relay can stand in.
        if (state === 'failed' && !(self() instanceof RelayLink)) void this.tryRelay(peerId, self())
        this.onLinkState(peerId, state, path)
      },
      message: (msg) => {
        if (!current()) return
        if (msg.t === 'bye') this.gone(peerId)
        else this.host.message(peerId, msg)
      },
      channel: (pipe) => (current() ? this.host.channel(peerId, pipe) : pipe.close()),
    }
  }

  private onLinkState(peerId: string, state: LinkState, path: LinkPath | null) {
    if (!this.links.has(peerId)) return
    this.host.roomEvent({ type: 'link', peerId, link: state, path })
    this.host.linkState(peerId, state, path)
  }

  /** The device with the smaller id opens the relay's control channel; the other accepts it. */
  private async tryRelay(peerId: string, failed: PeerPort) {
    const self = this.host.self()
    if (!self || this.host.relayOff()) return
    if (self.peerId > peerId) {
      // The other device opens the relay; this one only asks whether there is one, to say so.
      const probe = await this.signaling.openRelay(peerId, 0)
      if (probe.ok) this.signaling.closeRelay(probe.relay.id)
      else if (probe.code === 'relay_disabled') this.host.roomEvent({ type: 'relay-off' })
      return
    }
    const control = await openRelayPipe(this.signaling, peerId, 'control', 4 * 1024 * 1024)
    if (!(control instanceof RelayPipe)) {
      if (control.code === 'relay_disabled') this.host.roomEvent({ type: 'relay-off' })
      return
    }
    if (this.links.get(peerId) !== failed) return control.close()
    this.useRelay(peerId, control)
  }

  private useRelay(peerId: string, control: RelayPipe) {
    this.register(control)
    const old = this.links.get(peerId)
    const link: PeerPort = new RelayLink(peerId, this.signaling, control, this.linkEvents(peerId, () => link), (pipe) => this.register(pipe))
    this.links.set(peerId, link)
    old?.close()
    this.onLinkState(peerId, 'connected', 'relay')
  }

  private register(pipe: RelayPipe) {
    this.relays.set(pipe.id, pipe)
    pipe.onClose(() => this.relays.delete(pipe.id))
  }
}
