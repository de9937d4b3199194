import type { UploadResponse } from '@sharesync/protocol'
import type { Db } from '../db/db'
import { sharesRepo, type ShareRow } from '../db/shares.repo'
import { AppError, guardDependency, shareNotFound } from '../http/app-error'
import type { Viewer } from '../http/viewer'
import { tokenMatches } from './ids'

/** Who claims to own a share: the signed-in viewer and/or an owner token from the request. */
export interface OwnerProof {
  viewer: Viewer
  ownerToken?: string
}

/** Storage I/O: a failure of the store answers 503 storage_unavailable, never 500. */
export const storage = <T>(work: () => Promise<T>) => guardDependency('storage_unavailable', work)

/** The share, if the proof shows ownership (owner token, the signed-in owner, or an admin). */
export async function ownedShare(db: Db, proof: OwnerProof, shareId: string, opts: { allowAdmin?: boolean } = {}): Promise<ShareRow> {
  const share = await sharesRepo.findActive(db, shareId)
  if (!share) throw shareNotFound()
  const user = proof.viewer.user
  const owns = isOwner(proof, share) || (opts.allowAdmin === true && user?.role === 'admin')
  if (!owns) throw new AppError('forbidden', 'Only the owner of this share can do that.')
  return share
}

/** The proof names the share's owner (its owner token, or the signed-in owner). Admins are not owners. */
export function isOwner(proof: OwnerProof, share: Pick<ShareRow, 'owner_token_hash' | 'owner_user_id'>): boolean {
  return tokenMatches(proof.ownerToken, share.owner_token_hash) || (proof.viewer.user !== null && share.owner_user_id === proof.viewer.user.id)
}

/** The answer to a finished upload (curl and browser alike). */
export function shareSummary(share: Pick<ShareRow, 'id' | 'expires_at' | 'max_downloads'>, baseUrl: string, ownerToken?: string): UploadResponse {
  return {
    id: share.id,
    url: `${baseUrl}/s/${share.id}`,
    downloadUrl: `${baseUrl}/api/shares/${share.id}/download`,
    ...(ownerToken ? { ownerToken } : {}),
    expiresAt: share.expires_at.toISOString(),
    maxDownloads: share.max_downloads,
  }
}

/**
 * The cloud routes of a `direct` share (downloads, zip, previews) need its cloud copy: 409
 * `cloud_copy_off` when it has none, `cloud_copy_not_ready` while it is still being uploaded.
 */
export function requireCloudCopy(share: Pick<ShareRow, 'status' | 'cloud_copy'>): void {
  if (!share.cloud_copy) throw new AppError('cloud_copy_off', "This link has no cloud copy: it can only be downloaded directly from the sender's page while it is open.")
  if (share.status !== 'ready') throw new AppError('cloud_copy_not_ready', "The cloud copy of this link is still being uploaded: download it directly from the sender, or try again in a moment.")
}

/** Store URLs may be root-relative (disk store without PUBLIC_URL): make them absolute for clients. */
export function absolute(url: string, baseUrl: string): string {
  return url.startsWith('/') ? `${baseUrl}${url}` : url
}
