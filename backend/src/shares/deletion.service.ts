import type { Queryable } from '../db/db'
import { sharesRepo, type ShareRow } from '../db/shares.repo'
import type { Deps } from '../deps'
import { isLibraryKey } from '../library/library-key'
import { ownedShare, isOwner, storage, type OwnerProof } from './common'

/** Exhausted shares are removed this long after their last download, so an issued URL still works. */
export const EXHAUSTED_GRACE_SECONDS = 3600

/** Deleting shares and their blobs: owners, admins, My shares and the janitor. */
export class ShareDeletion {
  constructor(private readonly deps: Pick<Deps, 'db' | 'store' | 'events'>) {}

  /** Owner (token or signed-in) or admin: the blobs go at once, the share answers 404 from now on. */
  async delete(proof: OwnerProof, shareId: string): Promise<void> {
    const share = await ownedShare(this.deps.db, proof, shareId, { allowAdmin: true })
    await this.deleteNow(shareId, isOwner(proof, share) ? 'owner' : 'admin')
  }

  /** Deletes blobs and marks the share deleted, under the share's row lock (safe with the janitor). */
  async deleteNow(shareId: string, by: 'owner' | 'admin' = 'owner'): Promise<boolean> {
    const deleted = await this.deps.db.tx(async (q) => {
      const share = await sharesRepo.lockForDelete(q, shareId)
      if (!share) return false
      await this.removeBlobs(q, [share])
      await sharesRepo.markDeleted(q, [share.id])
      return true
    })
    if (deleted) this.deps.events.emit('shareDeleted', { shareId, by })
    return deleted
  }

  /** Used by the janitor too: deletes every blob (and pending multipart upload) of these shares. */
  async removeBlobs(q: Queryable, shares: Pick<ShareRow, 'id'>[]): Promise<void> {
    for (const share of shares) {
      // Library links point at files in place: there is no blob to delete.
      const files = (await sharesRepo.files(q, share.id)).filter((f) => !isLibraryKey(f.storage_key))
      await storage(() =>
        Promise.all(
          files.map(async (f) => {
            if (f.upload_id) await this.deps.store.abortMultipart(f.storage_key, f.upload_id)
            await this.deps.store.delete(f.storage_key)
          }),
        ),
      )
    }
  }
}
