import type { LinkReceipt } from '@sharesync/protocol'
import type { TransferView } from '../p2p/engine/room-session'

/**
 * Delivery receipts on the sender's page: one per recipient and download — the direct ones built
 * from this page's own transfers (device, path, progress), the cloud ones as the server reports
 * them (`link:receipt`). Pure, so the rules have unit tests.
 */

export interface Receipt {
  id: string
  /** the recipient's device name, "someone" when unknown */
  who: string
  path: 'direct' | 'relay' | 'cloud'
  bytes: number
  totalBytes: number
  status: 'active' | 'done' | 'failed'
}

export function directReceipt(t: TransferView, someone: string): Receipt {
  const status = t.phase === 'completed' ? 'done' : t.phase === 'failed' || t.phase === 'cancelled' || t.phase === 'declined' ? 'failed' : 'active'
  const total = t.progress.total
  return {
    id: t.id,
    who: t.peerName.trim() || someone,
    path: t.path === 'relay' ? 'relay' : 'direct',
    bytes: status === 'done' ? total : Math.min(total, Math.round(t.progress.bytes)),
    totalBytes: total,
    status,
  }
}

/** The direct transfers that answered claims, then the cloud downloads, in the order they began. */
export function receiptsOf(transfers: readonly TransferView[], claimed: ReadonlySet<string>, cloud: readonly LinkReceipt[], someone: string): Receipt[] {
  const direct = transfers.filter((t) => t.direction === 'send' && claimed.has(t.id)).map((t) => directReceipt(t, someone))
  return [...direct, ...cloud.map((r) => ({ ...r, who: r.who.trim() || someone }))]
}

/** A receipt's share of its bytes, in whole percent (100 only when done). */
export function receiptPercent(r: Receipt): number {
  if (r.status === 'done') return 100
  if (r.totalBytes <= 0) return 0
  return Math.min(99, Math.floor((r.bytes / r.totalBytes) * 100))
}
