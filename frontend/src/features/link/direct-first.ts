import type { ErrorCode } from '@sharesync/protocol'
import type { LinkReceiver } from './link-receiver'

export type DirectOutcome =
  /** received whole from the sender's page (`lease`: the download it took on a limited share) */
  | { kind: 'done'; lease?: string }
  /** go to the cloud copy (`lease`: one the failed direct claim holds, good for the copy too) */
  | { kind: 'cloud'; lease?: string }
  /** no sender online and no cloud copy */
  | { kind: 'offline' }
  | { kind: 'error'; code?: ErrorCode; message: string; retryAfter?: number }

/** Answers that end the download: the link is gone, busy or locked — the cloud copy would say the same. */
const FINAL: readonly string[] = ['share_not_found', 'download_in_progress', 'password_required', 'password_invalid', 'rate_limited', 'forbidden']

/**
 * One download of a one-link share, directly when the path allows: waits for the path to settle,
 * claims and receives from the sender's page, and answers 'cloud' when the cloud copy must serve it
 * (no direct link, or the direct transfer failed — then after the copy is ready).
 */
export async function directFirst(receiver: LinkReceiver | null, files: string[] | undefined, lease: string | undefined): Promise<DirectOutcome> {
  if (!receiver) return { kind: 'cloud' }
  const path = await receiver.settled()
  if (path === 'offline') return { kind: 'offline' }
  if (path === 'cloud') return { kind: 'cloud' }
  const r = await receiver.direct(files, lease)
  if (r.ok) return { kind: 'done', ...(r.lease ? { lease: r.lease } : {}) }
  if (r.code && FINAL.includes(r.code)) return { kind: 'error', code: r.code, message: r.message, ...(r.retryAfter ? { retryAfter: r.retryAfter } : {}) }
  const next = await receiver.settled()
  if (next === 'cloud') return { kind: 'cloud', ...(r.lease ? { lease: r.lease } : {}) }
  return next === 'offline' ? { kind: 'offline' } : { kind: 'error', message: r.message }
}
