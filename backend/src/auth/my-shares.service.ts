import type { ClaimSharesRequest, MyShare, UpdateMyShareRequest } from '@sharesync/protocol'
import { mySharesRepo, type MyShareRow } from '../db/my-shares.repo'
import type { Deps } from '../deps'
import { AppError, shareNotFound } from '../http/app-error'
import type { SessionUser } from '../http/viewer'
import { hashToken } from '../shares/ids'
import { rulesFor } from '../shares/policy'
import type { ShareDeletion } from '../shares/deletion.service'

const LIST_LIMIT = 500

/**
 * A signed-in user's own shares. Another user's share answers the same 404 as an unknown one:
 * ids cannot be probed through these routes either.
 */
export class MySharesService {
  constructor(
    private readonly deps: Deps,
    private readonly deletion: ShareDeletion,
  ) {}

  async list(user: SessionUser, baseUrl: string): Promise<MyShare[]> {
    // this instance's latest download counts first (they are written in batches)
    await this.deps.downloadEvents.flush()
    const rows = await mySharesRepo.list(this.deps.db, user.id, LIST_LIMIT)
    return rows.map((r) => toMyShare(r, baseUrl))
  }

  /** Deletes the share and its blobs at once (the owners' delete path). */
  async delete(user: SessionUser, shareId: string): Promise<void> {
    const share = await mySharesRepo.findOwned(this.deps.db, shareId, user.id)
    if (!share) throw shareNotFound()
    await this.deletion.deleteNow(shareId)
  }

  /**
   * A new expiry for a live share: in the future, and at most the signed-in max expiry (or the longest
   * allowed expiry preset) after the share was created — editing cannot keep a link alive longer than
   * creating it could.
   */
  async changeExpiry(user: SessionUser, shareId: string, change: UpdateMyShareRequest, baseUrl: string): Promise<MyShare> {
    await this.deps.downloadEvents.flush()
    const share = await mySharesRepo.findOwned(this.deps.db, shareId, user.id)
    if (!share || share.status === 'expired') throw shareNotFound()
    const expiresAt = change.expiresAt !== undefined ? new Date(change.expiresAt) : new Date(Date.now() + change.expiresIn! * 1000)
    // The live policy: an admin's settings change applies to edits at once.
    const live = await this.deps.settings.policy()
    const presets = rulesFor(live, user).expiryPresets
    // With allowed expiry presets, an edit picks one of them (from now), and a link lives no longer
    // from its creation than the longest one: editing cannot get what creating could not.
    if (presets && (change.expiresIn === undefined || !presets.includes(change.expiresIn))) {
      throw new AppError('expiry_not_allowed', `expiresIn: this server allows only ${presets.join(', ')} seconds for links like this one.`)
    }
    const longest = presets ? Math.min(live.user.maxExpiry, Math.max(...presets)) : live.user.maxExpiry
    const latest = new Date(share.created_at.getTime() + longest * 1000)
    if (expiresAt.getTime() <= Date.now()) {
      throw new AppError('invalid_input', 'The new expiry must be in the future (delete the share to end it now).')
    }
    if (expiresAt > latest) {
      throw new AppError('invalid_input', `A share can live at most ${longest} seconds from its creation (until ${latest.toISOString()}).`)
    }
    if (!(await mySharesRepo.setExpiry(this.deps.db, shareId, user.id, expiresAt))) throw shareNotFound()
    this.deps.events.emit('shareChanged', { shareId })
    return toMyShare({ ...share, expires_at: expiresAt }, baseUrl)
  }

  /** Attaches shares this browser created before signing in; each needs its own owner token. */
  async claim(user: SessionUser, req: ClaimSharesRequest): Promise<string[]> {
    const claimed: string[] = []
    for (const { id, ownerToken } of req.shares) {
      if (await mySharesRepo.claim(this.deps.db, id, hashToken(ownerToken), user.id)) claimed.push(id)
    }
    if (claimed.length > 0) this.deps.logger.info({ userId: user.id, count: claimed.length }, 'shares claimed')
    return claimed
  }
}

function toMyShare(r: MyShareRow, baseUrl: string): MyShare {
  return {
    id: r.id,
    url: `${baseUrl}/s/${r.id}`,
    // An encrypted share's names are placeholders: the server does not know the real ones.
    names: r.encrypted ? [] : r.names,
    // Counted from the files themselves: curl uploads learn their file count only as they stream.
    fileCount: r.names.length,
    encrypted: r.encrypted,
    size: r.total_size,
    downloads: r.downloads,
    maxDownloads: r.max_downloads,
    passwordProtected: r.password_protected,
    status: r.status,
    expiresAt: r.expires_at.toISOString(),
    createdAt: r.created_at.toISOString(),
    source: r.source,
    ...(r.direct ? { direct: true, cloudCopy: r.cloud_copy } : {}),
  }
}
