import type { LinkClaimed } from '@sharesync/protocol'
import { linkClaimsRepo } from '../db/link-claims.repo'
import { downloadsRepo } from '../db/downloads.repo'
import { sharesRepo, type ShareRow } from '../db/shares.repo'
import type { Deps } from '../deps'
import { AppError, shareNotFound } from '../http/app-error'
import type { Viewer } from '../http/viewer'
import { waitInWords } from '../http/in-words'
import { isOwner } from '../shares/common'
import type { DownloadService } from '../shares/download.service'
import { hashToken, newId } from '../shares/ids'
import type { PasswordGate } from '../shares/password-gate'

/** A recipient's seat, as a claim records it (its device for the history and receipts). */
export interface Claimant {
  viewer: Viewer
  peerId: string
  device: string
  userAgent: string | null
  /** names the instance in the history row */
  instanceId: string
}

const notDirect = () => new AppError('forbidden', 'This link is not served directly by its sender: download it from the share page.')
const claimNotFound = () => new AppError('claim_not_found', 'No such direct download on this link (it was already settled, or is another link\'s).')

/**
 * The rules of links served directly ("one link, two paths"): who may host a `direct` share's
 * link room (its owner), who may wait in it (a recipient who passed the share's password), and the
 * direct downloads — claimed on the same download lease a cloud download takes (one download limit
 * for both paths), counted once when a host reports them delivered.
 */
export class LinkService {
  constructor(
    private readonly deps: Pick<Deps, 'db' | 'limits' | 'events'>,
    private readonly passwords: PasswordGate,
    private readonly downloads: Pick<DownloadService, 'heldLease' | 'leaseTtl'>,
  ) {}

  /** The share an owner's page may host: not deleted nor expired, `direct`, and theirs (owner token or session). */
  async hostable(viewer: Viewer, shareId: string, ownerToken: string | undefined): Promise<ShareRow> {
    const share = await sharesRepo.findActive(this.deps.db, shareId)
    if (!share || share.expires_at.getTime() <= Date.now() || share.room_id !== null || share.request_id !== null) throw shareNotFound()
    if (!isOwner({ viewer, ownerToken }, share)) throw new AppError('forbidden', 'Only the owner of this link can serve it.')
    if (!share.direct) throw notDirect()
    return share
  }

  /** The share a recipient may wait in: live with downloads left, `direct`, and its password given (guesses counted). */
  async joinable(viewer: Viewer, shareId: string, password: string | undefined): Promise<ShareRow> {
    const share = await sharesRepo.findLive(this.deps.db, shareId)
    if (!share) throw shareNotFound()
    if (!(await this.passwords.unlock(share, password, viewer))) throw new AppError('password_required', 'This share is protected by a password.')
    if (!share.direct) throw notDirect()
    return share
  }

  /**
   * A recipient asks for a direct download of `files` (all when absent). A limited share's download
   * is leased here exactly as a cloud download's is (`lease`: one the recipient holds already).
   */
  async claim(shareId: string, who: Claimant, input: { files?: string[]; lease?: string }): Promise<LinkClaimed & { files: string[] | null }> {
    const { db } = this.deps
    await this.deps.limits.consume('download', who.viewer.clientKey)
    const share = await downloadsRepo.liveShare(db, shareId)
    if (!share || !share.direct) throw shareNotFound()
    const all = await sharesRepo.files(db, shareId)
    const wanted = input.files ? [...new Set(input.files)] : null
    const chosen = wanted ? all.filter((f) => wanted.includes(f.id)) : all
    if (wanted && chosen.length !== wanted.length) throw new AppError('invalid_input', 'files: not all of these are files of this link.')
    let lease: { id: string; token: string; expiresAt: Date } | null = null
    if (share.max_downloads !== null) lease = await this.lease(share, who, chosen.map((f) => f.id), input.lease)
    const id = newId()
    const bytes = chosen.reduce((n, f) => n + f.size, 0)
    await linkClaimsRepo.insert(db, {
      id,
      shareId,
      ownerUserId: share.owner_user_id,
      fileId: chosen.length === 1 ? chosen[0]!.id : null,
      fileName: chosen.length === 1 ? chosen[0]!.name : `${chosen.length} files`,
      clientIp: who.viewer.ip,
      userAgent: who.userAgent,
      device: who.device,
      peerId: who.peerId,
      leaseId: lease?.id ?? null,
      files: wanted,
      bytes,
      instanceId: who.instanceId,
    })
    return { claim: { id }, files: wanted, ...(lease ? { lease: { token: lease.token, expiresAt: lease.expiresAt.toISOString() } } : {}) }
  }

  private async lease(share: ShareRow, who: Claimant, fileIds: string[], token: string | undefined) {
    const { db } = this.deps
    const ttl = this.downloads.leaseTtl
    if (token !== undefined) {
      const held = await this.downloads.heldLease(token, share.id)
      if (held?.live) {
        if (fileIds.every((f) => held.completed_files.includes(f))) throw new AppError('download_link_used', 'These files were already downloaded under this lease.')
        const until = await downloadsRepo.extendLease(db, held.id, ttl)
        if (until) return { id: held.id, token, expiresAt: until }
      }
    }
    if (share.max_downloads !== null && share.downloads >= share.max_downloads) throw shareNotFound()
    const leaseId = newId()
    const secret = newId()
    const claim = await downloadsRepo.claimLease(db, { shareId: share.id, leaseId, tokenHash: hashToken(secret), userId: who.viewer.user?.id ?? null, ttlSeconds: ttl })
    if (claim.kind === 'busy') {
      throw new AppError('download_in_progress', `Someone is downloading this link right now. If they stop, it becomes available again within ${waitInWords(claim.retryAfter)}.`, {
        retryAfter: claim.retryAfter,
      })
    }
    if (claim.kind === 'gone') throw shareNotFound()
    return { id: leaseId, token: `${leaseId}.${secret}`, expiresAt: claim.expiresAt }
  }

  /** A host: the claim's files reached its recipient whole. Counted once; a second report is refused. */
  async delivered(shareId: string, claimId: string, bytes: number, path: 'direct' | 'relay'): Promise<void> {
    const done = await linkClaimsRepo.deliver(this.deps.db, { shareId, claimId, bytes, path })
    if (done.kind === 'unknown') throw claimNotFound()
    if (done.kind === 'lapsed') throw new AppError('download_link_expired', "This direct download's lease lapsed before it was reported delivered: the recipient must claim it again.")
    this.deps.events.emit('shareDownloaded', { shareId, fileId: done.fileId ?? '', bytes: done.bytes })
  }

  /** A host, or the claim's own recipient (`peerId`): the direct transfer failed. */
  async failed(shareId: string, claimId: string, recipient?: string): Promise<void> {
    if (!(await linkClaimsRepo.fail(this.deps.db, { shareId, claimId, ...(recipient !== undefined ? { peerId: recipient } : {}) }))) throw claimNotFound()
  }

  /** The recipient is still seated: its active claims stay active and their leases are extended. Answers the ones still active. */
  async keepAlive(claimIds: string[]): Promise<string[]> {
    const active = await linkClaimsRepo.touch(this.deps.db, claimIds)
    await Promise.all(active.filter((c) => c.lease_id).map((c) => downloadsRepo.extendLease(this.deps.db, c.lease_id!, this.downloads.leaseTtl)))
    return active.map((c) => c.id)
  }
}
