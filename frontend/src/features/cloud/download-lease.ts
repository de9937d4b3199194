/**
 * On a share with a download limit, the lease that holds this visitor's download (a download is the
 * whole share: every file under one lease). Kept for the tab's life, so a reload does not lock the
 * visitor out of their own download. Plain and end-to-end encrypted share pages both use it.
 */
const leaseKey = (shareId: string) => `sharesync.lease.${shareId}`

export function savedLease(shareId: string): string | null {
  try {
    return sessionStorage.getItem(leaseKey(shareId))
  } catch {
    return null
  }
}

export function saveLease(shareId: string, token: string): void {
  try {
    sessionStorage.setItem(leaseKey(shareId), token)
  } catch {
    // storage refused (private mode): the lease then lives in this page only
  }
}
