import { MAX_CHUNK_BYTES, PEER_PROTOCOL_VERSION, PeerMessage, PeerSignal, parseFrame } from '@sharesync/protocol'
import type { LinkPath, LinkState } from './room-machine'
import { channelPipe, type Pipe } from './pipe'
import type { PeerPort, PeerPortEvents } from './ports'

/**
 * One RTCPeerConnection per pair of peers. The peer with the smaller id makes the offer, so two
 * peers never offer at once; later channels (one per transfer) ride the same SCTP association
 * without renegotiation. When the network drops, ICE is restarted (the initiator offers again with
 * new credentials) before the link is given up; the SCTP association and its channels survive a
 * restart, so a transfer goes on where it was.
 */

/** How long to wait for a first direct connection before the session tries the relay. */
export const CONNECT_TIMEOUT_MS = 8_000
/** How long a dropped link may try to come back (ICE restarts) before it counts as failed. */
export const RECONNECT_TIMEOUT_MS = 25_000
const RESTART_EVERY_MS = 4_000
/** ICE 'disconnected' often heals by itself within a second or two; restart only after that. */
const DISCONNECTED_GRACE_MS = 2_000

export class PeerLink implements PeerPort {
  readonly pc: RTCPeerConnection
  private readonly control: RTCDataChannel
  private pendingCandidates: RTCIceCandidateInit[] = []
  private connectTimer: ReturnType<typeof setTimeout> | null = null
  private restartTimer: ReturnType<typeof setInterval> | null = null
  private giveUpTimer: ReturnType<typeof setTimeout> | null = null
  private graceTimer: ReturnType<typeof setTimeout> | null = null
  private remoteMaxMessage = 0
  /** Candidates gathered here and received from the other side, and whether each side has said it is done. */
  private readonly candidates = { local: 0, remote: 0, localDone: false, remoteDoneFor: null as string | null }
  state: LinkState = 'connecting'
  path: LinkPath | null = null

  constructor(
    readonly remoteId: string,
    private readonly initiator: boolean,
    iceServers: RTCIceServer[],
    private readonly sendSignal: (data: PeerSignal) => void,
    private readonly events: PeerPortEvents,
    connectTimeoutMs = CONNECT_TIMEOUT_MS,
  ) {
    this.pc = new RTCPeerConnection({ iceServers })
    // Negotiated on both sides with the same id: no in-band announcement needed.
    this.control = this.pc.createDataChannel('control', { negotiated: true, id: 0, ordered: true })
    this.control.onopen = () => {
      this.send({ t: 'hello', v: PEER_PROTOCOL_VERSION, maxMessageSize: this.localMaxMessage() })
      void this.detectPath().then(() => this.setState('connected'))
    }
    this.control.onclose = () => {
      if (this.state !== 'closed') this.setState('failed')
    }
    this.control.onmessage = (e: MessageEvent) => {
      if (typeof e.data !== 'string') return
      const msg = parseFrame(e.data, PeerMessage)
      if (!msg) return
      if (msg.t === 'hello') this.remoteMaxMessage = msg.maxMessageSize
      else this.events.message(msg)
    }
    this.pc.ondatachannel = (e) => this.events.channel(channelPipe(e.channel))
    this.pc.onicecandidate = (e) => {
      // Gathering is over (null, or Firefox's empty candidate): the other side hears so once (an
      // empty candidate is the standard end-of-candidates), so that either side can tell when a
      // direct connection is impossible.
      if (!e.candidate || e.candidate.candidate === '') {
        if (this.candidates.localDone) return
        this.candidates.localDone = true
        this.sendSignal({ candidate: { candidate: '', sdpMid: null, sdpMLineIndex: null, usernameFragment: ufragOf(this.pc.localDescription) } })
        this.failIfNoPath()
        return
      }
      this.candidates.local++
      const c = e.candidate.toJSON()
      this.sendSignal({ candidate: { candidate: c.candidate ?? '', sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex, usernameFragment: c.usernameFragment } })
    }
    this.pc.oniceconnectionstatechange = () => this.onIceState()
    this.connectTimer = setTimeout(() => {
      if (this.state === 'connecting') this.setState('failed')
    }, connectTimeoutMs)
  }

  async start(): Promise<void> {
    if (!this.initiator) return
    await this.offer(false)
  }

  async handleSignal(raw: unknown): Promise<void> {
    const signal = PeerSignal.safeParse(raw)
    if (!signal.success || this.state === 'closed' || 'reset' in signal.data) return
    if ('description' in signal.data) {
      const { description } = signal.data
      // Only the non-initiator accepts offers: a stray offer from the initiator side is ignored.
      if (description.type === 'offer' && this.initiator) return
      if (description.type === 'answer' && this.pc.signalingState !== 'have-local-offer') return
      await this.pc.setRemoteDescription(description)
      // Candidates gathered before the description was made travel inside it.
      this.candidates.remote += description.sdp.match(/^a=candidate:/gm)?.length ?? 0
      this.failIfNoPath()
      if (description.type === 'offer') {
        await this.pc.setLocalDescription(await this.pc.createAnswer())
        const d = this.pc.localDescription!
        this.sendSignal({ description: { type: 'answer', sdp: d.sdp } })
      }
      const queued = this.pendingCandidates
      this.pendingCandidates = []
      for (const c of queued) await this.pc.addIceCandidate(c).catch(() => undefined)
    } else {
      if (signal.data.candidate.candidate === '') this.candidates.remoteDoneFor = signal.data.candidate.usernameFragment ?? null
      else this.candidates.remote++
      if (this.pc.remoteDescription) await this.pc.addIceCandidate(signal.data.candidate).catch(() => undefined)
      else this.pendingCandidates.push(signal.data.candidate)
      this.failIfNoPath()
    }
  }

  /**
   * A first connection with no candidate on one side can never be made (a device that may only use
   * TURN with no TURN server, or none reachable): it fails at once instead of after the connect
   * timeout, so the relay (or, for a link's recipient, the cloud copy) takes over without the wait.
   */
  private failIfNoPath() {
    const { local, remote, localDone, remoteDoneFor } = this.candidates
    // The other side's end is taken only for its current credentials: a late signal of a link it
    // replaced cannot fail this one.
    const remoteDone = remoteDoneFor !== null && remoteDoneFor === ufragOf(this.pc.remoteDescription)
    if (this.state === 'connecting' && ((localDone && local === 0) || (remoteDone && remote === 0))) this.setState('failed')
  }

  send(message: PeerMessage): boolean {
    if (this.control.readyState !== 'open') return false
    this.control.send(JSON.stringify(message))
    return true
  }

  /** A reliable, ordered channel for one transfer's bytes. */
  async openPipe(label: string): Promise<Pipe> {
    return channelPipe(this.pc.createDataChannel(label, { ordered: true }))
  }

  /** Chunks as large as both sides accept (each says what it can send in its hello), at most 256 KiB. */
  chunkSize(): number {
    const mine = this.localMaxMessage()
    const theirs = this.remoteMaxMessage > 0 ? this.remoteMaxMessage : mine
    return Math.max(16 * 1024, Math.min(mine, theirs, MAX_CHUNK_BYTES))
  }

  close(): void {
    if (this.state === 'closed') return
    this.setState('closed')
    this.control.close()
    this.pc.close()
  }

  private localMaxMessage(): number {
    const max = this.pc.sctp?.maxMessageSize ?? 0
    // 0 or missing: the browser does not say; 64 KiB works everywhere.
    return max > 0 ? max : 64 * 1024
  }

  private async offer(iceRestart: boolean) {
    if (this.pc.signalingState === 'closed') return
    // An offer still waiting for its answer is replaced (rollback) by the restart's.
    if (this.pc.signalingState === 'have-local-offer' && iceRestart) await this.pc.setLocalDescription({ type: 'rollback' }).catch(() => undefined)
    await this.pc.setLocalDescription(await this.pc.createOffer({ iceRestart }))
    const d = this.pc.localDescription!
    this.sendSignal({ description: { type: 'offer', sdp: d.sdp } })
  }

  private onIceState() {
    const ice = this.pc.iceConnectionState
    if (ice === 'connected' || ice === 'completed') {
      if (this.state === 'reconnecting') {
        this.clearReconnect()
        void this.detectPath().then(() => this.setState('connected'))
      }
      return
    }
    if (this.state !== 'connected' && this.state !== 'reconnecting') {
      if (ice === 'failed' && this.state === 'connecting') this.setState('failed')
      return
    }
    if (ice === 'disconnected' && this.state === 'connected' && !this.graceTimer) {
      this.graceTimer = setTimeout(() => {
        this.graceTimer = null
        const now = this.pc.iceConnectionState
        if (this.state === 'connected' && (now === 'disconnected' || now === 'failed')) this.reconnect()
      }, DISCONNECTED_GRACE_MS)
    }
    if (ice === 'failed' && this.state === 'connected') this.reconnect()
  }

  /** ICE restarts every few seconds until the link is back or the time is up. */
  private reconnect() {
    this.setState('reconnecting')
    const restart = () => {
      if (this.initiator) void this.offer(true).catch(() => undefined)
    }
    restart()
    this.restartTimer = setInterval(restart, RESTART_EVERY_MS)
    this.giveUpTimer = setTimeout(() => {
      this.clearReconnect()
      if (this.state === 'reconnecting') this.setState('failed')
    }, RECONNECT_TIMEOUT_MS)
  }

  private clearReconnect() {
    if (this.restartTimer) clearInterval(this.restartTimer)
    if (this.giveUpTimer) clearTimeout(this.giveUpTimer)
    this.restartTimer = null
    this.giveUpTimer = null
  }

  /** 'turn' when the selected candidate pair goes through a TURN server, else 'direct'. */
  private async detectPath() {
    try {
      const stats = await this.pc.getStats()
      let pairId: string | undefined
      stats.forEach((r: { type: string; selectedCandidatePairId?: string; nominated?: boolean; state?: string; id: string }) => {
        if (r.type === 'transport' && r.selectedCandidatePairId) pairId = r.selectedCandidatePairId
      })
      // Firefox has no transport stats: the nominated, succeeded pair is the selected one.
      if (!pairId) stats.forEach((r: { type: string; nominated?: boolean; state?: string; id: string }) => {
        if (r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded') pairId = r.id
      })
      const pair = pairId ? (stats.get(pairId) as { localCandidateId?: string; remoteCandidateId?: string } | undefined) : undefined
      const local = pair?.localCandidateId ? (stats.get(pair.localCandidateId) as { candidateType?: string } | undefined) : undefined
      const remote = pair?.remoteCandidateId ? (stats.get(pair.remoteCandidateId) as { candidateType?: string } | undefined) : undefined
      this.path = local?.candidateType === 'relay' || remote?.candidateType === 'relay' ? 'turn' : 'direct'
    } catch {
      this.path = 'direct'
    }
  }

  private setState(state: LinkState) {
    if (this.state === state || this.state === 'closed') return
    if (this.connectTimer && state !== 'connecting') {
      clearTimeout(this.connectTimer)
      this.connectTimer = null
    }
    if (state === 'failed' || state === 'closed') {
      this.clearReconnect()
      if (this.graceTimer) clearTimeout(this.graceTimer)
      this.graceTimer = null
    }
    this.state = state
    this.events.state(state, this.path)
  }
}

/** The ICE username fragment of a session description (its first), or null. */
function ufragOf(description: RTCSessionDescription | null): string | null {
  return /^a=ice-ufrag:(\S+)/m.exec(description?.sdp ?? '')?.[1] ?? null
}
