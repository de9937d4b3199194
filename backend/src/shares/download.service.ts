import { pipeline, Readable } from 'node:stream'
import type { DownloadResponse, ShareMetadata } from '@sharesync/protocol'
import { downloadsRepo, type DownloadFile, type LeaseRow } from '../db/downloads.repo'
import { sharesRepo, type ShareRow } from '../db/shares.repo'
import type { Deps } from '../deps'
import { AppError, shareNotFound } from '../http/app-error'
import type { Viewer } from '../http/viewer'
import type { TransferInfo } from '../monitor/download-monitor'
import { isLibraryKey } from '../library/library-key'
import { contentDisposition, safeContentType, type ByteRange, type OpenedBlob } from '../storage/blob-store'
import { UrlSigner } from '../storage/url-signer'
import { absolute, requireCloudCopy, storage } from './common'
import { hashToken, newId, tokenMatches } from './ids'
import { ExactLength } from './exact-length'
import { LeaseMeter } from './lease-meter'
import { OpenLinks } from './open-links'
import { SecondMemo } from './second-memo'
import type { PasswordGate } from './password-gate'
import { waitInWords } from '../http/in-words'

/**
 * Library links: their files are not in the store but in LIBRARY_DIR, served by the app itself
 * (a signed URL of the library's route, or under a lease when the link has a download limit).
 */
export interface LibrarySigner {
  signGet(shareId: string, fileId: string, ttlSeconds: number): string
  openDownload(file: { id: string; size: number }): Promise<{ size: number; open(start: number, end: number): Readable; close(): Promise<void> }>
}

/** How the route reads a Range header once the size is known: one range, none (whole file), or 416. */
export type RangeOf = (size: number) => ByteRange | null | 'unsatisfiable'

/** A response for the app to send: status, headers and, except for HEAD, the bytes (and what the download monitor reports). */
export interface FileResponse {
  status: 200 | 206
  headers: Record<string, string>
  body: Readable | null
  transfer?: TransferInfo
}

/** How long an open link's file is trusted without reading it again (see OpenLinks). */
const OPEN_LINK_TTL_MS = 1000

/** Lease tokens: `<lease id>.<secret>`; only the secret's hash is stored. */
const LEASE_TOKEN = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{22})$/

const inProgress = (retryAfter: number) =>
  new AppError('download_in_progress', `Someone is downloading this link right now. If they stop, it becomes available again within ${waitInWords(retryAfter)}.`, {
    retryAfter,
  })
const leaseInvalid = () => new AppError('lease_invalid', 'This download link is not valid.')
const linkExpired = () => new AppError('download_link_expired', 'This download link has expired. Open the share link again to download.')
const signatureInvalid = () => new AppError('signature_invalid', 'This download link is not valid.')
const linkUsed = () => new AppError('download_link_used', 'This file was already downloaded with this link.')

type Deps_ = Pick<Deps, 'db' | 'store' | 'limits' | 'events' | 'logger' | 'settings' | 'downloadEvents'> & { config: Pick<Deps['config'], 'presignTtl' | 'downloadLeaseTtl' | 'sessionSecret'> }

/** How a file the app streams is fetched: under a lease (limited shares) or the app's signature (unlimited `direct` shares). */
export type ContentAccess = { lease: string } | { exp: number; sig: string }

/**
 * Recipients: a share's metadata (after the password) and its downloads.
 *
 * Unlimited shares: a presigned URL straight to storage after one read, counted by an event written in
 * the next batch (no row lock, no write per download) — except `direct` shares, whose sender gets a
 * live receipt of each cloud download: their URL is the app's own, signed by the app, and the app
 * streams the bytes under the download monitor (Range resumes), on every store. Shares with a download limit: the app streams the files itself under a lease on one
 * of the remaining downloads (state in the database, so any instance serves any request), and the
 * download counts when the lease's first file has been sent completely. A download of a share is the
 * whole share: within its lease the holder may fetch every file, each resumable with Range.
 */
export class DownloadService {
  /** open links' files, read at most once a second each (what changes them makes this instance forget them) */
  private readonly openLinks = new OpenLinks({ ttlMs: OPEN_LINK_TTL_MS })
  /** presigned URLs of unlimited shares, signed once per second per file (see SecondMemo) */
  private readonly signedUrls = new SecondMemo<string>()
  /** signs the app's URLs of unlimited `direct` shares' files */
  private readonly signer: UrlSigner

  constructor(
    private readonly deps: Deps_,
    private readonly passwords: PasswordGate,
    /** library links: their files are served by the app from LIBRARY_DIR, not from the store */
    private readonly library?: LibrarySigner,
    /** whether an owner's page hosts a `direct` share's link room now (best effort) */
    private readonly linkOnline: (shareId: string) => Promise<boolean> = async () => false,
  ) {
    this.signer = new UrlSigner(deps.config.sessionSecret)
    deps.events.on('shareDeleted', ({ shareId }) => this.openLinks.forget(shareId))
    deps.events.on('shareChanged', ({ shareId }) => this.openLinks.forget(shareId))
    deps.events.on('userAccessChanged', () => this.openLinks.clear())
  }

  async metadata(shareId: string, password: string | undefined, viewer: Viewer): Promise<ShareMetadata> {
    const share = await sharesRepo.findLive(this.deps.db, shareId)
    if (!share) throw shareNotFound()
    // Whether a share is end-to-end encrypted is no secret (the recipient's page needs it to ask for the
    // right password); its envelope is, until the password is given.
    const base = {
      id: share.id,
      expiresAt: share.expires_at.toISOString(),
      ...(share.encrypted ? { encrypted: true } : {}),
      ...(share.kind === 'text' ? { kind: 'text' as const } : {}),
    }
    if (!(await this.passwords.unlock(share, password, viewer))) return { ...base, passwordRequired: true }
    const left = share.max_downloads === null ? null : Math.max(0, share.max_downloads - share.downloads)
    const common = { ...base, passwordRequired: share.password_hash !== null, createdAt: share.created_at.toISOString(), maxDownloads: share.max_downloads, downloadsLeft: left }
    // A text share's text is revealed by its own route, which counts the view: the metadata never
    // shows it (an encrypted one's envelope holds the note only, and lets the page check its key).
    if (share.kind === 'text') {
      return {
        ...common,
        ...(share.encrypted && share.metadata !== null ? { metadata: share.metadata } : {}),
        ...(share.note ? { note: share.note } : {}),
        files: [],
      }
    }
    const files = await sharesRepo.files(this.deps.db, share.id)
    return {
      ...common,
      ...(share.direct ? { direct: { cloud: cloudState(share), online: await this.linkOnline(share.id).catch(() => false) } } : {}),
      ...(share.encrypted && share.metadata !== null ? { metadata: share.metadata } : {}),
      ...(share.note ? { note: share.note } : {}),
      previews: share.previews && (await this.deps.settings.policy()).previews,
      // A download is the whole share: each file shows the share's count.
      files: files.map((f) => ({ id: f.id, name: f.name, ...(f.path ? { path: f.path } : {}), size: f.size, type: f.content_type, downloadsLeft: left })),
    }
  }

  /**
   * A URL to download one file. Unlimited: a presigned URL (PRESIGN_TTL, never beyond the share's
   * expiry; a `direct` share's: the app's signed URL of the file's bytes). Limited: the app's own URL under a lease — the given one if it is this share's and
   * still live, else a newly claimed one (409 download_in_progress while every remaining download is
   * leased by someone else).
   */
  async issueDownload(
    shareId: string,
    fileId: string | null,
    o: { password: string | undefined; lease: string | undefined },
    viewer: Viewer,
    baseUrl: string,
  ): Promise<DownloadResponse> {
    const { db } = this.deps
    await this.deps.limits.consume('download', viewer.clientKey)
    const userId = viewer.user?.id ?? null
    // The common case in one statement: an unlimited share without a password.
    if (o.lease === undefined) {
      // a busy link is read again every second, by one query however many requests are waiting
      const open =
        this.openLinks.get(shareId, fileId) ?? (await this.openLinks.read(shareId, fileId, () => downloadsRepo.unlimitedFile(db, { shareId, fileId, openOnly: true })))
      if (open) return this.presigned(open, userId, baseUrl)
    }
    const share = await downloadsRepo.liveShare(db, shareId)
    if (!share) throw shareNotFound()
    if (!(await this.passwords.unlock(share, o.password, viewer))) {
      throw new AppError('password_required', 'This share is protected by a password.')
    }
    requireCloudCopy(share)
    const file = await this.fileOf(share, fileId)
    if (share.max_downloads === null) {
      const unlimited = await downloadsRepo.unlimitedFile(db, { shareId, fileId: file.id, openOnly: false })
      if (!unlimited) throw shareNotFound()
      return this.presigned(unlimited, userId, baseUrl)
    }

    // The holder's next file: the same lease, extended (the lease lives while its holder is active).
    const held = o.lease === undefined ? null : await this.heldLease(o.lease, share.id)
    if (held?.live) {
      if (held.completed_files.includes(file.id)) throw linkUsed()
      const until = await downloadsRepo.extendLease(db, held.id, this.leaseTtl)
      if (until) return this.leasedUrl(share.id, file.id, o.lease!, until, baseUrl)
    }
    if (share.downloads >= share.max_downloads) throw shareNotFound()
    const leaseId = newId()
    const secret = newId()
    const claim = await downloadsRepo.claimLease(db, { shareId: share.id, leaseId, tokenHash: hashToken(secret), userId, ttlSeconds: this.leaseTtl })
    if (claim.kind === 'busy') throw inProgress(claim.retryAfter)
    if (claim.kind === 'gone') throw shareNotFound()
    return this.leasedUrl(share.id, file.id, `${leaseId}.${secret}`, claim.expiresAt, baseUrl)
  }

  /**
   * `HEAD` of a share's download URL: what a link checker wants to know (size, type, name), without
   * counting, signing or leasing anything.
   */
  async describe(shareId: string, fileId: string | null, password: string | undefined, viewer: Viewer): Promise<FileResponse> {
    await this.deps.limits.consume('download', viewer.clientKey)
    const share = await sharesRepo.findLive(this.deps.db, shareId)
    if (!share) throw shareNotFound()
    if (!(await this.passwords.unlock(share, password, viewer))) {
      throw new AppError('password_required', 'This share is protected by a password.')
    }
    requireCloudCopy(share)
    const file = await this.fileOf(share, fileId)
    return { status: 200, headers: { ...fileHeaders(file), 'Content-Length': String(file.size) }, body: null }
  }

  /**
   * The bytes of one file the app streams itself (the whole file or one range): a limited share's,
   * for the holder of a live lease, or an unlimited `direct` share's, under the app's signature
   * (counted when the URL was issued). Under a lease, the lease is extended while bytes flow; the
   * file's download link is used once it has been sent completely (the lease's first such file counts
   * the share's download), and a storage failure before the first byte gives the lease back, so an
   * outage never costs a download. HEAD answers the headers only.
   */
  async streamContent(o: { shareId: string; fileId: string; access: ContentAccess; head: boolean; range: RangeOf; ifRange: string | undefined; viewer: Viewer }): Promise<FileResponse> {
    const { db } = this.deps
    await this.deps.limits.consume('download', o.viewer.clientKey)
    let lease: LeaseRow | null = null
    let ownerUserId: string | null
    if ('lease' in o.access) {
      lease = await this.heldLease(o.access.lease, o.shareId)
      if (!lease) throw leaseInvalid()
      if (!lease.share_live) throw shareNotFound()
      // a lease claimed for a direct download (link:claim) is no key to a cloud copy that is not there
      if (!lease.share_ready) requireCloudCopy({ status: 'uploading', cloud_copy: !lease.share_cloud_off })
      ownerUserId = lease.owner_user_id
    } else {
      if (!this.signer.verify(contentFields(o.shareId, o.fileId, o.access.exp), o.access.sig)) throw signatureInvalid()
      if (o.access.exp < Date.now() / 1000) throw new AppError('signature_invalid', 'This download link has expired; open the share page again.')
      // a signed URL names a live share's file: a share deleted or expired since is gone at once
      const share = await downloadsRepo.liveShare(db, o.shareId)
      if (!share) throw shareNotFound()
      requireCloudCopy(share)
      ownerUserId = share.owner_user_id
    }
    const file = await downloadsRepo.file(db, o.shareId, o.fileId)
    if (!file) throw shareNotFound()
    if (lease?.completed_files.includes(file.id)) throw linkUsed()
    if (lease && !lease.live) throw linkExpired()

    const headers = fileHeaders(file)
    headers['Accept-Ranges'] = 'bytes'
    headers.ETag = etagOf(file)
    const wanted = o.ifRange === undefined || o.ifRange === headers.ETag ? o.range(file.size) : null
    if (wanted === 'unsatisfiable') {
      throw new AppError('range_not_satisfiable', 'The requested range is outside the file.', { headers: { 'Content-Range': `bytes */${file.size}` } })
    }
    const range = wanted ?? (file.size > 0 ? { start: 0, end: file.size - 1 } : null)
    const length = range ? range.end - range.start + 1 : 0
    headers['Content-Length'] = String(length)
    if (wanted) headers['Content-Range'] = `bytes ${wanted.start}-${wanted.end}/${file.size}`
    const status = wanted ? 206 : 200
    if (o.head) return { status, headers, body: null }

    const opened = await this.openBytes(file, wanted ?? undefined).catch(async (err: unknown) => {
      if (lease && !wanted) await downloadsRepo.releaseUnused(db, lease.id).catch(() => false)
      throw err
    })
    if (!opened) {
      this.deps.logger.error({ fileId: file.id }, 'a ready share has no blob')
      if (lease) await downloadsRepo.releaseUnused(db, lease.id)
      throw shareNotFound()
    }
    const library = this.library !== undefined && isLibraryKey(file.storage_key)
    const transfer: TransferInfo = {
      shareId: file.share_id,
      fileId: file.id,
      fileName: file.name,
      source: library ? 'library' : this.deps.store.kind,
      ownerUserId,
      total: file.size,
      offset: range?.start ?? 0,
      length,
    }
    if (!lease) {
      const checked = new ExactLength(length)
      pipeline(opened.body, checked, () => undefined)
      return { status, headers, body: checked, transfer }
    }
    const leaseId = lease.id
    const ttl = this.leaseTtl
    const meter = new LeaseMeter({
      bytes: length,
      endsTheFile: range === null || range.end === file.size - 1,
      keepAliveEveryMs: Math.max(500, (ttl * 1000) / 3),
      keepAlive: async () => {
        if (!(await downloadsRepo.extendLease(db, leaseId, ttl))) throw linkExpired()
      },
      beforeLastBytes: async () => {
        const done = await downloadsRepo.completeFile(db, { leaseId, shareId: file.share_id, fileId: file.id, bytes: file.size })
        if (done === 'lapsed') throw linkExpired()
        // a second request of the same URL that reached the end while the first was still sending
        // (a single-use URL fetched twice at once): only the first gets the whole file
        if (done === 'already') throw linkUsed()
        if (done === 'counted') this.deps.events.emit('shareDownloaded', { shareId: file.share_id, fileId: file.id, bytes: file.size })
      },
    })
    // Errors either side end both: a failing store cuts the response, a client that leaves stops the read.
    pipeline(opened.body, meter, () => undefined)
    return { status, headers, body: meter, transfer }
  }

  /** The bytes of a file (all of it, or one range), from the store or, for a library link, from LIBRARY_DIR. */
  async openBytes(file: Pick<DownloadFile, 'id' | 'size' | 'storage_key'>, range: ByteRange | undefined): Promise<OpenedBlob | null> {
    if (!(this.library && isLibraryKey(file.storage_key))) return storage(() => this.deps.store.openRead(file.storage_key, range))
    const download = await this.library.openDownload(file)
    if (download.size === 0) {
      await download.close()
      return { body: Readable.from([]), size: 0 }
    }
    const body = download.open(range?.start ?? 0, range?.end ?? download.size - 1)
    body.once('close', () => void download.close().catch(() => undefined))
    return { body, size: download.size }
  }

  get leaseTtl(): number {
    return this.deps.config.downloadLeaseTtl
  }

  /** The lease a token names, if it is genuine and this share's; null otherwise (forged, unknown, another share's). */
  async heldLease(token: string, shareId: string): Promise<LeaseRow | null> {
    const m = LEASE_TOKEN.exec(token)
    if (!m) throw leaseInvalid()
    const lease = await downloadsRepo.lease(this.deps.db, m[1]!)
    if (!lease || !tokenMatches(m[2], lease.token_hash) || lease.share_id !== shareId) throw leaseInvalid()
    return lease
  }

  private async fileOf(share: ShareRow, fileId: string | null): Promise<DownloadFile> {
    const file = await downloadsRepo.file(this.deps.db, share.id, fileId)
    if (file) return file
    if (fileId === null && share.file_count > 1) {
      throw new AppError('invalid_input', 'This share has several files: download them one by one (/api/shares/:id/files/:fileId/download).')
    }
    throw shareNotFound()
  }

  /**
   * A signed URL of an unlimited share's file, and its download counted (in the next batch of events).
   * A `direct` share's is the app's own URL (streamed under the download monitor: its sender's
   * receipts), any other's the store's (S3: presigned, no byte through the app).
   */
  private async presigned(file: DownloadFile, userId: string | null, baseUrl: string): Promise<DownloadResponse> {
    const ttl = Math.max(1, Math.min(this.deps.config.presignTtl, Math.floor((file.expires_at.getTime() - Date.now()) / 1000)))
    const library = this.library !== undefined && isLibraryKey(file.storage_key)
    let url: string
    if (file.direct && !library) {
      const exp = Math.floor(Date.now() / 1000) + ttl
      const query = new URLSearchParams({ exp: String(exp), sig: this.signer.sign(contentFields(file.share_id, file.id, exp)) })
      url = `${baseUrl}/api/shares/${file.share_id}/files/${file.id}/content?${query}`
    } else {
      const signed =
        this.library && library
          ? this.library.signGet(file.share_id, file.id, ttl)
          : await this.signedUrls.get(`${ttl}\n${file.storage_key}\n${file.content_type}\n${file.name}`, () =>
              storage(() => this.deps.store.signGet(file.storage_key, { filename: file.name, contentType: file.content_type, ttlSeconds: ttl })),
            )
      url = absolute(signed, baseUrl)
    }
    this.deps.downloadEvents.record({ shareId: file.share_id, fileId: file.id, bytes: file.size, userId })
    this.deps.events.emit('shareDownloaded', { shareId: file.share_id, fileId: file.id, bytes: file.size })
    return { url, expiresAt: new Date(Date.now() + ttl * 1000).toISOString() }
  }

  private leasedUrl(shareId: string, fileId: string, token: string, expiresAt: Date, baseUrl: string): DownloadResponse {
    const url = `${baseUrl}/api/shares/${shareId}/files/${fileId}/content?${new URLSearchParams({ lease: token })}`
    return { url, expiresAt: expiresAt.toISOString(), lease: { token, expiresAt: expiresAt.toISOString() } }
  }
}

/** A `direct` share's cloud copy: none at all, being uploaded, or in storage. */
function cloudState(share: Pick<ShareRow, 'status' | 'cloud_copy'>): 'none' | 'uploading' | 'ready' {
  if (!share.cloud_copy) return 'none'
  return share.status === 'ready' ? 'ready' : 'uploading'
}

/** Files are always attachments that cannot render or run on the app's origin. */
function fileHeaders(file: Pick<DownloadFile, 'name' | 'content_type'>): Record<string, string> {
  return {
    'Content-Type': safeContentType(file.content_type),
    'Content-Disposition': contentDisposition(file.name),
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': 'sandbox',
    'Cache-Control': 'private, no-store',
  }
}

/** What the app signs in a `direct` share's file URL (its own label: no zip or blob signature fits it). */
const contentFields = (shareId: string, fileId: string, exp: number) => ['FILE', shareId, fileId, exp] as const

/** A file's bytes never change under its id: id and size make a strong validator (If-Range resumes). */
const etagOf = (file: Pick<DownloadFile, 'id' | 'size'>) => `"${file.id}-${file.size}"`
