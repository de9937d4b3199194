import type { ErrorCode } from '@sharesync/protocol'
import type { RoomSession, SessionView, TransferView } from '../p2p/engine/room-session'
import { linkSession } from './link-session'
import type { LinkSignaling } from './link-signaling'
import { choosePath, initialPath, pathTransition, type CloudCopy, type Path, type PathEvent, type PathState } from './path-machine'

export interface ReceiverView {
  path: Path
  state: PathState
  /** the direct transfer under way (or just ended), for its progress and speed */
  transfer: TransferView | null
}

export type DirectResult = { ok: true; lease?: string } | { ok: false; code?: ErrorCode; message: string; retryAfter?: number; lease?: string }

/** No link to an online host after this long: the cloud copy it is. */
export const CONNECT_TIMEOUT_MS = 15_000
/** The host answers a claim with its offer within this long, or the claim failed. */
const OFFER_TIMEOUT_MS = 20_000

/**
 * A recipient of a one-link share: seated in its link room, it follows the hosts and the link to
 * them (the path reducer decides direct / relay / cloud / waiting / offline), and downloads directly
 * on request — claim, accept the host's offer, and hand each received file to the browser's
 * downloads, where a cloud download lands too. A failure says so; the page falls back to the cloud.
 */
export class LinkReceiver {
  private readonly session: RoomSession
  private readonly signaling: LinkSignaling
  private state: PathState
  private readonly listeners = new Set<() => void>()
  private view: ReceiverView
  private readonly unsubscribe: () => void
  private seen: { phase: SessionView['phase']; hosts: number; link: string | null; relayOff: boolean } = { phase: 'connecting', hosts: 0, link: null, relayOff: false }
  private connectTimer: ReturnType<typeof setTimeout> | null = null
  private waiting: ((view: SessionView) => void) | null = null
  private transferId: string | null = null

  constructor(shareId: string, password: string | undefined, cloud: CloudCopy, online: boolean, baseUrl?: string) {
    this.state = initialPath(cloud, online)
    this.view = { path: choosePath(this.state), state: this.state, transfer: null }
    const made = linkSession({ role: 'recipient', shareId, ...(password ? { password } : {}) }, baseUrl)
    this.session = made.session
    this.signaling = made.signaling
    this.unsubscribe = this.session.subscribe(() => this.onSession())
  }

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  getSnapshot = (): ReceiverView => this.view

  /** The share's metadata changed (its cloud copy became ready, a host came online). */
  metadata(cloud: CloudCopy, online: boolean): void {
    this.dispatch({ type: 'metadata', cloud, online })
  }

  stop(): void {
    if (this.connectTimer) clearTimeout(this.connectTimer)
    this.unsubscribe()
    this.session.leave()
  }

  /** Resolves once the path is settled (not connecting, not waiting for the copy). */
  settled(): Promise<Path> {
    return new Promise((resolve) => {
      const check = () => {
        const p = this.view.path
        if (p === 'connecting' || p === 'waiting') return false
        resolve(p)
        return true
      }
      if (check()) return
      const off = this.subscribe(() => check() && off())
    })
  }

  /**
   * Downloads `files` (all when absent) straight from a host: the claim (on `lease` for a limited
   * share), the host's offer accepted, every file whole, each handed to the browser's downloads.
   */
  async direct(files: string[] | undefined, lease: string | undefined): Promise<DirectResult> {
    // The host's offer can overtake the claim's answer: transfers known before the claim are not it.
    const before = new Set(this.session.getSnapshot().transfers.map((t) => t.id))
    const claimed = await this.signaling.claim(files, lease)
    if (!claimed.ok) {
      // A busy limited share may say when a download frees up (not in the ack's type: read with care).
      const wait: unknown = 'retryAfter' in claimed.error ? claimed.error.retryAfter : undefined
      return { ok: false, code: claimed.error.code, message: claimed.error.message, ...(typeof wait === 'number' ? { retryAfter: wait } : {}) }
    }
    const claimId = claimed.claim.id
    const heldLease = claimed.lease?.token ?? lease
    const result = await this.receive(before)
    if (result.ok) return heldLease ? { ok: true, lease: heldLease } : result
    this.signaling.failed(claimId, result.message)
    this.dispatch({ type: 'direct-failed' })
    return { ...result, ...(heldLease ? { lease: heldLease } : {}) }
  }

  private receive(before: ReadonlySet<string>): Promise<DirectResult> {
    return new Promise((resolve) => {
      const offerTimer = setTimeout(() => finish({ ok: false, message: 'no offer from the sender' }), OFFER_TIMEOUT_MS)
      const finish = (r: DirectResult) => {
        clearTimeout(offerTimer)
        this.waiting = null
        resolve(r)
      }
      this.waiting = (view) => {
        if (!this.transferId) {
          const offer = view.transfers.find((t) => !before.has(t.id) && t.direction === 'receive' && t.phase === 'offered')
          if (!offer) return
          clearTimeout(offerTimer)
          this.transferId = offer.id
          void this.session.accept(offer.id)
          return
        }
        const t = view.transfers.find((x) => x.id === this.transferId)
        if (!t) return finish({ ok: false, message: 'transfer lost' })
        if (t.phase === 'completed') {
          for (const f of t.received) if (f.url) saveToDownloads(f.url, f.name)
          this.transferId = null
          return finish({ ok: true })
        }
        // The sender's page closed mid-way (an interruption would wait for it): the cloud copy it is.
        const hostGone = view.peers.every((p) => p.peerId !== t.peerId)
        if (t.phase === 'failed' || t.phase === 'cancelled' || t.phase === 'declined' || (t.phase === 'interrupted' && hostGone)) {
          if (t.phase === 'interrupted') this.session.cancel(t.id)
          this.transferId = null
          finish({ ok: false, message: t.message ?? t.phase })
        }
      }
      this.waiting(this.session.getSnapshot())
    })
  }

  private onSession() {
    const s = this.session.getSnapshot()
    const host = s.peers[0]
    if (s.phase !== this.seen.phase) {
      if (s.phase === 'ready') this.dispatch({ type: 'joined', hosts: s.peers.length })
      if (s.phase === 'error') this.dispatch({ type: 'join-failed' })
    } else if (s.phase === 'ready') {
      for (let n = this.seen.hosts; n < s.peers.length; n++) this.dispatch({ type: 'host-joined' })
      for (let n = s.peers.length; n < this.seen.hosts; n++) this.dispatch({ type: 'host-left' })
    }
    const link = host ? `${host.link}:${host.path ?? ''}` : null
    if (host && link !== this.seen.link) this.dispatch({ type: 'link', state: host.link, via: host.path })
    if (s.relayOff && !this.seen.relayOff) this.dispatch({ type: 'relay-off' })
    this.seen = { phase: s.phase, hosts: s.phase === 'ready' ? s.peers.length : this.seen.hosts, link, relayOff: s.relayOff }
    this.waiting?.(s)
    this.render(s)
  }

  private dispatch(e: PathEvent) {
    this.state = pathTransition(this.state, e)
    this.render(this.session.getSnapshot())
  }

  private render(s: SessionView) {
    const path = choosePath(this.state)
    // A host online but no link yet: give it a while, then go to the cloud copy.
    if (path === 'connecting' && this.state.hosts > 0 && !this.connectTimer) {
      this.connectTimer = setTimeout(() => {
        this.connectTimer = null
        this.dispatch({ type: 'gave-up' })
      }, CONNECT_TIMEOUT_MS)
    } else if (path !== 'connecting' && this.connectTimer) {
      clearTimeout(this.connectTimer)
      this.connectTimer = null
    }
    const transfer = s.transfers.find((t) => t.direction === 'receive' && t.id === (this.transferId ?? s.transfers.at(-1)?.id)) ?? null
    if (path === this.view.path && this.state === this.view.state && transfer === this.view.transfer) return
    this.view = { path, state: this.state, transfer }
    for (const fn of this.listeners) fn()
  }
}

/** A received file into the browser's downloads (a file already streamed there has no URL). */
function saveToDownloads(url: string, name: string) {
  const a = document.createElement('a')
  a.href = url
  a.download = name
  a.style.display = 'none'
  document.body.appendChild(a)
  a.click()
  a.remove()
}
