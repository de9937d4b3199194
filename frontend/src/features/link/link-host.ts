import type { LinkReceipt } from '@sharesync/protocol'
import { i18n } from '../../i18n'
import type { RoomSession, SessionView } from '../p2p/engine/room-session'
import { linkSession } from './link-session'
import type { LinkSignaling } from './link-signaling'
import { receiptsOf, type Receipt } from './receipts'

/** A file this page serves, under the share's file id. */
export interface HostedFile {
  fileId: string
  file: File
}

export interface HostView {
  /** seated as a host: recipients can reach this page */
  hosting: boolean
  /** the link room refused this page (not the owner, link gone) */
  error: string | null
  /** recipients seated now */
  recipients: number
  receipts: Receipt[]
}

const FINAL_FAILED = new Set(['failed', 'cancelled', 'declined'])

/**
 * The sender's page hosting a one-link share: seated in its link room, it answers each recipient's
 * claim (`link:claimed`) by sending the asked-for files to that peer with the P2P engine, reports
 * each claim delivered or failed, and keeps the receipts — its own transfers' and the server's
 * cloud-download receipts.
 */
export class LinkHost {
  private readonly session: RoomSession
  private readonly signaling: LinkSignaling
  /** transfer id → its claim */
  private readonly claims = new Map<string, { claimId: string; reported: boolean }>()
  private readonly cloud = new Map<string, LinkReceipt>()
  private readonly listeners = new Set<() => void>()
  private view: HostView = { hosting: false, error: null, recipients: 0, receipts: [] }
  private readonly unsubscribe: () => void

  constructor(
    shareId: string,
    ownerToken: string | undefined,
    private readonly files: HostedFile[],
    baseUrl?: string,
  ) {
    const made = linkSession({ role: 'host', shareId, ...(ownerToken ? { ownerToken } : {}) }, baseUrl)
    this.session = made.session
    this.signaling = made.signaling
    this.signaling.onLink({
      claimed: (c) => this.onClaimed(c),
      receipt: (r) => {
        this.cloud.set(r.id, r)
        this.refresh()
      },
      claimFailed: (claimId) => this.onClaimFailed(claimId),
    })
    this.unsubscribe = this.session.subscribe(() => this.refresh())
  }

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  getSnapshot = (): HostView => this.view

  stop(): void {
    this.unsubscribe()
    this.session.leave()
  }

  private onClaimed({ claimId, peerId, files }: { claimId: string; peerId: string; files: string[] | null }) {
    const chosen = files ? this.files.filter((f) => files.includes(f.fileId)) : this.files
    if (chosen.length === 0 || (files && chosen.length !== files.length)) return this.signaling.failed(claimId, 'unknown files')
    const [id] = this.session.sendFiles(
      chosen.map((f) => f.file),
      [peerId],
    )
    if (!id) return this.signaling.failed(claimId, 'recipient not reachable')
    this.claims.set(id, { claimId, reported: false })
    this.refresh()
  }

  /** The recipient gave the claim up (already settled on the server): stop its transfer; its receipt shows failed. */
  private onClaimFailed(claimId: string) {
    for (const [id, claim] of this.claims) {
      if (claim.claimId !== claimId || claim.reported) continue
      claim.reported = true
      this.session.cancel(id)
    }
    this.refresh()
  }

  private refresh() {
    const s: SessionView = this.session.getSnapshot()
    // Each claim is reported once, when its transfer ends.
    for (const t of s.transfers) {
      const claim = this.claims.get(t.id)
      if (!claim || claim.reported) continue
      if (t.phase === 'completed') {
        claim.reported = true
        this.signaling.delivered(claim.claimId, t.progress.total, t.path === 'relay' ? 'relay' : 'direct')
      } else if (FINAL_FAILED.has(t.phase)) {
        claim.reported = true
        this.signaling.failed(claim.claimId, t.message ?? t.phase)
      }
    }
    this.view = {
      hosting: s.phase === 'ready',
      error: s.phase === 'error' ? s.error : null,
      recipients: s.peers.length,
      receipts: receiptsOf(s.transfers, new Set(this.claims.keys()), [...this.cloud.values()], i18n.t('link.someone')),
    }
    for (const fn of this.listeners) fn()
  }
}
