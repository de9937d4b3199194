import { ControlMessage, PeerSignal, type ControlMessage as Control } from '@sharesync/protocol'

/**
 * One RTCPeerConnection per pair of peers. The peer with the smaller id makes the offer, so two
 * peers never offer at once; there is only one offer/answer per pair, because every later channel
 * (one per transfer) rides the same SCTP association without renegotiation.
 */

export type LinkState = 'connecting' | 'connected' | 'failed' | 'closed'

export interface PeerLinkEvents {
  state(state: LinkState): void
  control(message: Control): void
  channel(channel: RTCDataChannel): void
}

/** How long to wait for a direct connection before telling the person it cannot be made. */
const CONNECT_TIMEOUT_MS = 20_000

export class PeerLink {
  readonly pc: RTCPeerConnection
  private readonly control: RTCDataChannel
  private pendingCandidates: RTCIceCandidateInit[] = []
  private timer: ReturnType<typeof setTimeout> | null = null
  state: LinkState = 'connecting'

  constructor(
    readonly remoteId: string,
    private readonly initiator: boolean,
    iceServers: RTCIceServer[],
    private readonly sendSignal: (data: PeerSignal) => void,
    private readonly events: PeerLinkEvents,
  ) {
    this.pc = new RTCPeerConnection({ iceServers })
    // Negotiated on both sides with the same id: no in-band announcement needed.
    this.control = this.pc.createDataChannel('control', { negotiated: true, id: 0, ordered: true })
    this.control.onopen = () => this.setState('connected')
    this.control.onclose = () => {
      if (this.state === 'connected') this.setState('failed')
    }
    this.control.onmessage = (e: MessageEvent) => {
      if (typeof e.data !== 'string') return
      const parsed = safeJson(e.data, ControlMessage)
      if (parsed) this.events.control(parsed)
    }
    this.pc.ondatachannel = (e) => this.events.channel(e.channel)
    this.pc.onicecandidate = (e) => {
      if (!e.candidate) return
      const c = e.candidate.toJSON()
      this.sendSignal({ candidate: { candidate: c.candidate ?? '', sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex, usernameFragment: c.usernameFragment } })
    }
    this.pc.onconnectionstatechange = () => {
      if (this.pc.connectionState === 'failed') this.setState('failed')
    }
    this.timer = setTimeout(() => {
      if (this.state === 'connecting') this.setState('failed')
    }, CONNECT_TIMEOUT_MS)
  }

  async start(): Promise<void> {
    if (!this.initiator) return
    await this.pc.setLocalDescription(await this.pc.createOffer())
    const d = this.pc.localDescription!
    this.sendSignal({ description: { type: d.type as 'offer', sdp: d.sdp } })
  }

  async handleSignal(raw: unknown): Promise<void> {
    const signal = PeerSignal.safeParse(raw)
    if (!signal.success || this.state === 'closed') return
    if ('description' in signal.data) {
      const { description } = signal.data
      // Only the non-initiator accepts offers: a stray offer from the initiator side is ignored.
      if (description.type === 'offer' && this.initiator) return
      await this.pc.setRemoteDescription(description)
      if (description.type === 'offer') {
        await this.pc.setLocalDescription(await this.pc.createAnswer())
        const d = this.pc.localDescription!
        this.sendSignal({ description: { type: 'answer', sdp: d.sdp } })
      }
      const queued = this.pendingCandidates
      this.pendingCandidates = []
      for (const c of queued) await this.pc.addIceCandidate(c).catch(() => undefined)
    } else if (this.pc.remoteDescription) {
      await this.pc.addIceCandidate(signal.data.candidate).catch(() => undefined)
    } else {
      this.pendingCandidates.push(signal.data.candidate)
    }
  }

  send(message: Control): boolean {
    if (this.control.readyState !== 'open') return false
    this.control.send(JSON.stringify(message))
    return true
  }

  /** A reliable, ordered channel for one transfer's bytes. */
  openChannel(label: string): RTCDataChannel {
    return this.pc.createDataChannel(label, { ordered: true })
  }

  /** Chunks as large as the association allows, at most 256 KiB. */
  chunkSize(): number {
    const max = this.pc.sctp?.maxMessageSize ?? 0
    return Math.max(16 * 1024, Math.min(max > 0 ? max : 64 * 1024, 256 * 1024))
  }

  close(): void {
    if (this.state === 'closed') return
    this.setState('closed')
    this.control.close()
    this.pc.close()
  }

  private setState(state: LinkState) {
    if (this.state === state || this.state === 'closed') return
    if (this.timer) {
      clearTimeout(this.timer)
      this.timer = null
    }
    this.state = state
    this.events.state(state)
  }
}

export function safeJson<T>(text: string, schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } }): T | null {
  try {
    const parsed = schema.safeParse(JSON.parse(text))
    return parsed.success ? parsed.data : null
  } catch {
    return null
  }
}
