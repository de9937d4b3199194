import { Readable } from 'node:stream'
import { zipEntryNames, zipFileName, type DownloadResponse } from '@sharesync/protocol'
import { downloadsRepo, type LeaseRow } from '../db/downloads.repo'
import { sharesRepo, type FileRow, type ShareRow } from '../db/shares.repo'
import type { Deps } from '../deps'
import { AppError, shareNotFound } from '../http/app-error'
import type { Viewer } from '../http/viewer'
import type { TransferInfo } from '../monitor/download-monitor'
import { contentDisposition } from '../storage/blob-store'
import { UrlSigner } from '../storage/url-signer'
import { zipLength, zipRange, zipStream, type ZipEntry } from '../zip/zip-stream'
import { requireCloudCopy } from './common'
import type { DownloadService, FileResponse, RangeOf } from './download.service'
import { hashToken, newId } from './ids'
import { LeaseMeter } from './lease-meter'
import type { PasswordGate } from './password-gate'

type Deps_ = Pick<Deps, 'db' | 'store' | 'limits' | 'events' | 'logger'> & { config: Pick<Deps['config'], 'presignTtl' | 'sessionSecret'> }

/** Where a zip's bytes are fetched from: under a lease (limited shares) or a signed URL (unlimited ones). */
export type ZipAccess = { lease: string } | { exp: number; sig: string }

const notAvailable = () =>
  new AppError('zip_not_available', 'This share is end-to-end encrypted: only the web app can build its zip, in your browser, while it decrypts.')
const linkUsed = () => new AppError('download_link_used', 'This share was already downloaded with this link.')
const linkExpired = () => new AppError('download_link_expired', 'This download link has expired. Open the share link again to download.')

/**
 * "Download all": the whole share as one zip, streamed by the app from the store entry by entry
 * (ZIP64 when sizes need it; nothing held in memory or on disk), with the share's folders. A zip is
 * one download of every file in it. Unlimited shares: a signed URL, counted when issued (one event
 * per file). Limited shares: under the share's download lease, like single files — each file of the
 * zip is recorded as sent before the chunk holding its last byte leaves the store, the first of them
 * counts the share's download, and a cut zip resumes with Range within the lease.
 */
export class ZipService {
  private readonly signer: UrlSigner

  constructor(
    private readonly deps: Deps_,
    private readonly passwords: PasswordGate,
    private readonly downloads: DownloadService,
  ) {
    this.signer = new UrlSigner(deps.config.sessionSecret)
  }

  /** The zip's URL for this recipient (the given lease when it is this share's and live, else a new one). */
  async issue(shareId: string, o: { password: string | undefined; lease: string | undefined }, viewer: Viewer, baseUrl: string): Promise<DownloadResponse> {
    const { db } = this.deps
    await this.deps.limits.consume('download', viewer.clientKey)
    const share = await downloadsRepo.liveShare(db, shareId)
    if (!share) throw shareNotFound()
    if (!(await this.passwords.unlock(share, o.password, viewer))) throw new AppError('password_required', 'This share is protected by a password.')
    requireCloudCopy(share)
    this.zippable(share)
    const userId = viewer.user?.id ?? null
    if (share.max_downloads === null) {
      const counted = await downloadsRepo.appendUnlimitedAll(db, { shareId, userId })
      if (counted.files === 0) throw shareNotFound()
      const files = await sharesRepo.files(db, shareId)
      this.deps.events.emit('shareDownloaded', { shareId, fileId: files[0]?.id ?? '', bytes: counted.bytes })
      const ttl = Math.max(1, Math.min(this.deps.config.presignTtl, Math.floor((share.expires_at.getTime() - Date.now()) / 1000)))
      const exp = Math.floor(Date.now() / 1000) + ttl
      const query = new URLSearchParams({ exp: String(exp), sig: this.signer.sign(zipFields(shareId, exp)) })
      return { url: `${baseUrl}/api/shares/${shareId}/zip/content?${query}`, expiresAt: new Date(exp * 1000).toISOString() }
    }
    const files = await sharesRepo.files(db, shareId)
    const held = o.lease === undefined ? null : await this.downloads.heldLease(o.lease, share.id)
    if (held?.live) {
      if (files.every((f) => held.completed_files.includes(f.id))) throw linkUsed()
      const until = await downloadsRepo.extendLease(db, held.id, this.downloads.leaseTtl)
      if (until) return leasedUrl(shareId, o.lease!, until, baseUrl)
    }
    if (share.downloads >= share.max_downloads) throw shareNotFound()
    const leaseId = newId()
    const secret = newId()
    const claim = await downloadsRepo.claimLease(db, { shareId, leaseId, tokenHash: hashToken(secret), userId, ttlSeconds: this.downloads.leaseTtl })
    if (claim.kind === 'busy') {
      throw new AppError('download_in_progress', `Someone is downloading this link right now. If they stop, it becomes available again within ${claim.retryAfter} s.`, {
        retryAfter: claim.retryAfter,
      })
    }
    if (claim.kind === 'gone') throw shareNotFound()
    return leasedUrl(shareId, `${leaseId}.${secret}`, claim.expiresAt, baseUrl)
  }

  /** `HEAD` of the zip route: its name and exact size, counting and leasing nothing. */
  async describe(shareId: string, password: string | undefined, viewer: Viewer): Promise<FileResponse> {
    await this.deps.limits.consume('download', viewer.clientKey)
    const share = await sharesRepo.findLive(this.deps.db, shareId)
    if (!share) throw shareNotFound()
    if (!(await this.passwords.unlock(share, password, viewer))) throw new AppError('password_required', 'This share is protected by a password.')
    requireCloudCopy(share)
    this.zippable(share)
    const files = await sharesRepo.files(this.deps.db, shareId)
    const entries = this.entries(share, files, null)
    return { status: 200, headers: { ...zipHeaders(zipFileName(share.id, files)), 'Content-Length': String(zipLength(entries)) }, body: null }
  }

  /** The zip's bytes (all, or one range), for the holder of a lease or of a signed URL. */
  async stream(o: { shareId: string; access: ZipAccess; head: boolean; range: RangeOf; ifRange: string | undefined; viewer: Viewer }): Promise<FileResponse> {
    const { db } = this.deps
    await this.deps.limits.consume('download', o.viewer.clientKey)
    let lease: LeaseRow | null = null
    let share: ShareRow | null
    if ('lease' in o.access) {
      lease = await this.downloads.heldLease(o.access.lease, o.shareId)
      if (!lease) throw new AppError('lease_invalid', 'This download link is not valid.')
      if (!lease.share_live) throw shareNotFound()
      share = await downloadsRepo.liveShare(db, o.shareId)
    } else {
      if (!this.signer.verify(zipFields(o.shareId, o.access.exp), o.access.sig)) throw new AppError('signature_invalid', 'This download link is not valid.')
      if (o.access.exp < Date.now() / 1000) throw new AppError('signature_invalid', 'This download link has expired; open the share page again.')
      share = await downloadsRepo.liveShare(db, o.shareId)
    }
    if (!share) throw shareNotFound()
    requireCloudCopy(share)
    this.zippable(share)
    const files = await sharesRepo.files(db, o.shareId)
    if (lease && files.every((f) => lease.completed_files.includes(f.id))) throw linkUsed()
    if (lease && !lease.live) throw linkExpired()

    // The entries' open storage streams: an archive cut short (a range, a client gone) leaves the
    // one being read paused mid-file; it is closed with the archive, not when it is collected.
    const bodies = new Set<Readable>()
    const entries = this.entries(share, files, lease, bodies)
    const size = zipLength(entries)
    const name = zipFileName(share.id, files)
    const headers: Record<string, string> = { ...zipHeaders(name), 'Accept-Ranges': 'bytes', ETag: `"zip-${share.id}-${size}"` }
    const wanted = o.ifRange === undefined || o.ifRange === headers.ETag ? o.range(size) : null
    if (wanted === 'unsatisfiable') {
      throw new AppError('range_not_satisfiable', 'The requested range is outside the zip.', { headers: { 'Content-Range': `bytes */${size}` } })
    }
    const range = wanted ?? { start: 0, end: size - 1 }
    const length = range.end - range.start + 1
    headers['Content-Length'] = String(length)
    if (wanted) headers['Content-Range'] = `bytes ${wanted.start}-${wanted.end}/${size}`
    const status = wanted ? 206 : 200
    if (o.head) return { status, headers, body: null }

    const zip = wanted ? zipRange(entries, range.start, range.end) : zipStream(entries)
    let body: Readable = zip
    if (lease) {
      // The lease lives while bytes flow; counting happens per entry (see `entries`), not at the end.
      const ttl = this.downloads.leaseTtl
      const leaseId = lease.id
      const meter = new LeaseMeter({
        bytes: length,
        endsTheFile: false,
        keepAliveEveryMs: Math.max(500, (ttl * 1000) / 3),
        keepAlive: async () => {
          if (!(await downloadsRepo.extendLease(db, leaseId, ttl))) throw linkExpired()
        },
        beforeLastBytes: async () => undefined,
      })
      zip.once('error', (err) => meter.destroy(err))
      body = zip.pipe(meter)
    }
    body.once('close', () => {
      zip.destroy()
      for (const b of bodies) b.destroy()
    })
    const transfer: TransferInfo = {
      shareId: share.id,
      fileId: null,
      fileName: name,
      source: this.deps.store.kind,
      ownerUserId: share.owner_user_id,
      total: size,
      offset: range.start,
      length,
    }
    return { status, headers, body, transfer }
  }

  private zippable(share: ShareRow): void {
    if (share.encrypted) throw notAvailable()
    if (share.kind === 'text') throw new AppError('zip_not_available', 'A text share has no files to zip.')
  }

  /**
   * The archive's entries, in share order, named by their folders. Under a lease each entry's bytes
   * pass through `counted`: the chunk holding the entry's last byte is released only once the file
   * was recorded as sent under the lease (the first such file counts the share's download).
   */
  private entries(share: ShareRow, files: FileRow[], lease: LeaseRow | null, bodies = new Set<Readable>()): ZipEntry[] {
    const names = zipEntryNames(files)
    return files.map((f, i) => ({
      name: names[i]!,
      size: f.size,
      lastModified: f.completed_at ?? share.created_at,
      open: async () => {
        const opened = await this.downloads.openBytes(f, undefined)
        if (!opened) {
          this.deps.logger.error({ fileId: f.id }, 'a ready share has no blob')
          throw new Error('a file of the share is missing from storage')
        }
        bodies.add(opened.body)
        return lease ? this.counted(opened.body, f, lease.id) : (opened.body as AsyncIterable<Uint8Array>)
      },
    }))
  }

  private async *counted(body: Readable, file: FileRow, leaseId: string): AsyncIterable<Uint8Array> {
    const record = async () => {
      const done = await downloadsRepo.completeFile(this.deps.db, { leaseId, shareId: file.share_id, fileId: file.id, bytes: file.size })
      if (done === 'lapsed') throw linkExpired()
      if (done === 'counted') this.deps.events.emit('shareDownloaded', { shareId: file.share_id, fileId: file.id, bytes: file.size })
    }
    let sent = 0
    try {
      if (file.size === 0) await record()
      for await (const chunk of body as AsyncIterable<Uint8Array>) {
        sent += chunk.length
        if (sent > file.size) throw new Error('storage sent more bytes than the file holds')
        if (sent === file.size) await record()
        yield chunk
      }
      if (sent < file.size) throw new Error(`storage sent ${file.size - sent} bytes less than expected`)
    } finally {
      body.destroy()
    }
  }
}

const zipFields = (shareId: string, exp: number) => ['ZIP', shareId, exp] as const

function leasedUrl(shareId: string, token: string, expiresAt: Date, baseUrl: string): DownloadResponse {
  return {
    url: `${baseUrl}/api/shares/${shareId}/zip/content?${new URLSearchParams({ lease: token })}`,
    expiresAt: expiresAt.toISOString(),
    lease: { token, expiresAt: expiresAt.toISOString() },
  }
}

function zipHeaders(name: string): Record<string, string> {
  return {
    'Content-Type': 'application/zip',
    'Content-Disposition': contentDisposition(name),
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': 'sandbox',
    'Cache-Control': 'private, no-store',
  }
}
