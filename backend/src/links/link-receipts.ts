import type { LinkReceipt, MonitoredDownload } from '@sharesync/protocol'
import type { Db } from '../db/db'
import type { DownloadMonitor } from '../monitor/download-monitor'
import type { Logger } from 'pino'

/** At most one progress receipt per download and second. */
const RECEIPT_EVERY_MS = 1000
/** Whether a share is `direct` never changes; this many are remembered. */
const MAX_REMEMBERED = 10_000

/**
 * Delivery receipts of cloud downloads, for the hosts of a `direct` share's link room: the
 * download monitor of this instance reports each app-served download (started, progressing, ended);
 * downloads of `direct` shares are turned into receipts (≤ 1/s each while they run) and handed to
 * `send`, which reaches the hosts on any instance. Returns the unsubscribe function.
 */
export function forwardReceipts(deps: { db: Pick<Db, 'query'>; monitor: Pick<DownloadMonitor, 'on'>; logger: Logger }, send: (shareId: string, receipt: LinkReceipt) => void): () => void {
  const direct = new Map<string, boolean>()
  const lastSent = new Map<string, number>()

  const isDirect = async (shareId: string): Promise<boolean> => {
    const known = direct.get(shareId)
    if (known !== undefined) return known
    const [row] = await deps.db.query<{ direct: boolean }>(`SELECT direct FROM shares WHERE id = $1`, [shareId])
    if (direct.size >= MAX_REMEMBERED) direct.clear()
    direct.set(shareId, row?.direct === true)
    return row?.direct === true
  }
  const receipt = (d: MonitoredDownload, status: LinkReceipt['status']): LinkReceipt => ({
    id: d.id,
    who: d.device ?? 'someone',
    path: 'cloud',
    bytes: Math.min(d.total, d.offset + d.bytes),
    totalBytes: d.total,
    status,
  })
  const forward = (d: MonitoredDownload, status: LinkReceipt['status']) => {
    isDirect(d.shareId).then(
      (yes) => {
        if (yes) send(d.shareId, receipt(d, status))
      },
      (err: unknown) => deps.logger.debug({ err }, 'link receipts: could not look a share up'),
    )
  }

  const offProgress = deps.monitor.on('progress', (list) => {
    const now = Date.now()
    for (const d of list) {
      if (now - (lastSent.get(d.id) ?? 0) < RECEIPT_EVERY_MS) continue
      lastSent.set(d.id, now)
      forward(d, 'active')
    }
  })
  const offEnded = deps.monitor.on('ended', (d) => {
    lastSent.delete(d.id)
    forward(d, d.status === 'completed' ? 'done' : 'failed')
  })
  return () => {
    offProgress()
    offEnded()
  }
}
