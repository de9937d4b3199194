import type { DownloadResponse, ShareMetadata } from '@sharesync/protocol'
import { sharesRepo } from '../db/shares.repo'
import type { Deps } from '../deps'
import { AppError, shareNotFound } from '../http/app-error'
import type { Viewer } from '../http/viewer'
import { absolute, storage } from './common'
import { isLibraryKey } from '../library/library-key'
import type { PasswordGate } from './password-gate'

export interface LibrarySigner {
  signGet(shareId: string, fileId: string, ttlSeconds: number): string
}

/** Recipients: a share's metadata (after the password) and its downloads. */
export class DownloadService {
  constructor(
    private readonly deps: Pick<Deps, 'db' | 'store' | 'limits' | 'events'> & { config: Pick<Deps['config'], 'presignTtl'> },
    private readonly passwords: PasswordGate,
    /** library links: their files are served by the app from LIBRARY_DIR, not from the store */
    private readonly library?: LibrarySigner,
  ) {}

  async metadata(shareId: string, password: string | undefined, viewer: Viewer): Promise<ShareMetadata> {
    const share = await sharesRepo.findLive(this.deps.db, shareId)
    if (!share) throw shareNotFound()
    // Whether a share is end-to-end encrypted is no secret (the recipient's page needs it to ask for the
    // right password); its envelope is, until the password is given.
    const base = { id: share.id, expiresAt: share.expires_at.toISOString(), ...(share.encrypted ? { encrypted: true } : {}) }
    if (!(await this.passwords.unlock(share, password, viewer))) return { ...base, passwordRequired: true }
    const files = await sharesRepo.files(this.deps.db, share.id)
    const left = (downloads: number) => (share.max_downloads === null ? null : Math.max(0, share.max_downloads - downloads))
    return {
      ...base,
      passwordRequired: share.password_hash !== null,
      ...(share.encrypted && share.metadata !== null ? { metadata: share.metadata } : {}),
      createdAt: share.created_at.toISOString(),
      maxDownloads: share.max_downloads,
      downloadsLeft: share.max_downloads === null ? null : Math.max(...files.map((f) => left(f.downloads) ?? 0)),
      files: files.map((f) => ({ id: f.id, name: f.name, size: f.size, type: f.content_type, downloadsLeft: left(f.downloads) })),
    }
  }

  /**
   * Issues a presigned download URL and counts the download, atomically. The URL is signed first
   * (no I/O), so a one-time link is never burnt by a signing failure; it lives at most PRESIGN_TTL
   * and never beyond the share's expiry.
   */
  async issueDownload(shareId: string, fileId: string | null, password: string | undefined, viewer: Viewer, baseUrl: string): Promise<DownloadResponse> {
    const { db, store } = this.deps
    await this.deps.limits.consume('download', viewer.clientKey)
    const share = await sharesRepo.findLive(db, shareId)
    if (!share) throw shareNotFound()
    if (!(await this.passwords.unlock(share, password, viewer))) {
      throw new AppError('password_required', 'This share is protected by a password.')
    }
    const files = await sharesRepo.files(db, share.id)
    const file = fileId === null ? (files.length === 1 ? files[0] : undefined) : files.find((f) => f.id === fileId)
    if (!file) {
      if (fileId === null) throw new AppError('invalid_input', 'This share has several files: download them one by one (/api/shares/:id/files/:fileId/download).')
      throw shareNotFound()
    }
    const ttl = Math.min(this.deps.config.presignTtl, Math.floor((share.expires_at.getTime() - Date.now()) / 1000))
    if (ttl < 1) throw shareNotFound()
    const signed = this.library && isLibraryKey(file.storage_key)
      ? this.library.signGet(share.id, file.id, ttl)
      : await storage(() => store.signGet(file.storage_key, { filename: file.name, contentType: file.content_type, ttlSeconds: ttl }))
    const url = absolute(signed, baseUrl)
    const counted = await sharesRepo.countDownload(db, share.id, file.id, viewer.user?.id ?? null)
    if (!counted) throw shareNotFound()
    this.deps.events.emit('shareDownloaded', { shareId: share.id, fileId: file.id, bytes: counted.size })
    return { url, expiresAt: new Date(Date.now() + ttl * 1000).toISOString() }
  }
}
