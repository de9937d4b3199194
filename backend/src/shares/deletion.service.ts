import pLimit from 'p-limit'
import { sharesRepo, type DeletedBy } from '../db/shares.repo'
import type { Deps } from '../deps'
import { isLibraryKey } from '../library/library-key'
import { AppError } from '../http/app-error'
import { ownedShare, isOwner, storage, type OwnerProof } from './common'

/** Exhausted shares are removed this long after their last download, so an issued URL still works. */
export const EXHAUSTED_GRACE_SECONDS = 3600

/**
 * How long a claimed share is reserved for the instance removing its blobs. If that instance dies
 * meanwhile, the janitor of any instance takes the work over after this.
 */
export const DELETE_WORK_SECONDS = 600

/** Shares whose blobs are removed at the same time (each share's own files in parallel too). */
const CONCURRENT_SHARES = 4

export interface DeletionWork {
  /** blobs removed, share marked deleted */
  deleted: string[]
  /** a blob delete failed: the share stays 'deleting', counted and backed off, for the janitor */
  failed: string[]
}

/**
 * Deleting shares and their blobs: owners, admins, My shares and the janitor. Claim, then work: a
 * share is claimed ('deleting', 404 for everyone) in one short statement, its blobs are removed with
 * no transaction open and no row locked (a slow or hung store holds no database connection), then it
 * is marked deleted. A share whose blobs cannot be removed fails on its own and is retried later.
 */
export class ShareDeletion {
  constructor(private readonly deps: Pick<Deps, 'db' | 'store' | 'events' | 'logger'>) {}

  /** Owner (token or signed-in) or admin: the share answers 404 at once, its blobs go now or, if storage fails, later. */
  async delete(proof: OwnerProof, shareId: string): Promise<void> {
    const share = await ownedShare(this.deps.db, proof, shareId, { allowAdmin: true })
    // What arrived in a file request is the requester's: its uploader's token only cancels it while it uploads.
    const requester = proof.viewer.user !== null && (proof.viewer.user.id === share.owner_user_id || proof.viewer.user.role === 'admin')
    if (share.request_id && share.status !== 'uploading' && !requester) throw new AppError('forbidden', 'These files were sent to a file request: only its requester can remove them now.')
    await this.deleteNow(shareId, isOwner(proof, share) ? 'owner' : 'admin')
  }

  /** Claims the share and removes its blobs; false when it is already being (or was) deleted. */
  async deleteNow(shareId: string, by: DeletedBy = 'owner'): Promise<boolean> {
    if (!(await sharesRepo.claimForDelete(this.deps.db, shareId, { by, workSeconds: DELETE_WORK_SECONDS }))) return false
    this.deps.events.emit('shareDeleted', { shareId, by })
    await this.finish([shareId])
    return true
  }

  /**
   * The work on claimed shares: removes each one's blobs (and pending multipart uploads), then marks
   * those done deleted. A failure is isolated to its share: recorded with a back-off, never thrown.
   */
  async finish(shareIds: string[]): Promise<DeletionWork> {
    const { db, store } = this.deps
    const deleted: string[] = []
    const failed: string[] = []
    const limit = pLimit(CONCURRENT_SHARES)
    await Promise.all(
      shareIds.map((shareId) =>
        limit(async () => {
          try {
            // Library links point at files in place: there is no blob to delete.
            const files = (await sharesRepo.files(db, shareId)).filter((f) => !isLibraryKey(f.storage_key))
            await storage(() =>
              Promise.all(
                files.map(async (f) => {
                  if (f.upload_id) await store.abortMultipart(f.storage_key, f.upload_id)
                  await store.delete(f.storage_key)
                }),
              ),
            )
            deleted.push(shareId)
          } catch (err) {
            failed.push(shareId)
            this.deps.logger.warn({ err, shareId }, 'could not remove the blobs of a deleted share; will retry')
            await sharesRepo.deleteFailed(db, shareId, err instanceof Error ? err.message : String(err)).catch(() => undefined)
          }
        }),
      ),
    )
    await sharesRepo.markDeleted(db, deleted)
    return { deleted, failed }
  }
}
