import {
  PREVIEW_LIMITED_BYTES,
  PREVIEW_LIMITED_MIN_SIZE,
  PREVIEW_MAX_DOCUMENT_BYTES,
  PREVIEW_TEXT_BYTES,
  previewKind,
  type PreviewKind,
  type PreviewResponse,
} from '@sharesync/protocol'
import { sharesRepo, type FileRow, type ShareRow } from '../db/shares.repo'
import type { Deps } from '../deps'
import { AppError, shareNotFound } from '../http/app-error'
import type { Viewer } from '../http/viewer'
import { contentDisposition } from '../storage/blob-store'
import { UrlSigner } from '../storage/url-signer'
import { requireCloudCopy } from './common'
import type { DownloadService, FileResponse, RangeOf } from './download.service'
import type { PasswordGate } from './password-gate'

/** How long a preview URL may be used (video seeks ask again for ranges within it). */
const PREVIEW_TTL_SECONDS = 600

const disabled = () => new AppError('previews_disabled', 'Previews are turned off for this share.')

/**
 * Previews on the share page. A preview is never a download: no lease, no counter, no event, nothing
 * written at all. Its URL is signed (share, file, expiry and how many bytes it may read) and checked
 * against the live share on every request, so turning previews off, deleting or using up the share
 * ends it. The bytes are streamed by the app with the preview's own inert type, `nosniff` and a
 * sandbox CSP; HTML, SVG and XML are never previewed. On a share with a download limit a preview
 * could otherwise be a free download: there, only text files of at least PREVIEW_LIMITED_MIN_SIZE
 * are previewed, and only their first PREVIEW_LIMITED_BYTES (a quarter of the file at most).
 */
export class PreviewService {
  private readonly signer: UrlSigner

  constructor(
    private readonly deps: Pick<Deps, 'db' | 'limits' | 'settings'> & { config: Pick<Deps['config'], 'sessionSecret'> },
    private readonly passwords: PasswordGate,
    private readonly downloads: DownloadService,
  ) {
    this.signer = new UrlSigner(deps.config.sessionSecret)
  }

  async grant(shareId: string, fileId: string, password: string | undefined, viewer: Viewer, baseUrl: string): Promise<PreviewResponse> {
    await this.deps.limits.consume('download', viewer.clientKey)
    const share = await sharesRepo.findLive(this.deps.db, shareId)
    if (!share || share.kind === 'text') throw shareNotFound()
    if (!(await this.passwords.unlock(share, password, viewer))) throw new AppError('password_required', 'This share is protected by a password.')
    requireCloudCopy(share)
    await this.allowed(share)
    const file = await sharesRepo.file(this.deps.db, shareId, fileId)
    if (!file) throw shareNotFound()
    if (share.encrypted) throw new AppError('preview_unsupported', 'Files of an end-to-end encrypted share are not previewed.')
    const what = previewKind(file)
    if (!what) throw new AppError('preview_unsupported', 'This kind of file is not previewed. Download it to open it.')
    const { bytes, partial } = previewBytes(share, file, what.kind)
    const ttl = Math.max(1, Math.min(PREVIEW_TTL_SECONDS, Math.floor((share.expires_at.getTime() - Date.now()) / 1000)))
    const exp = Math.floor(Date.now() / 1000) + ttl
    const query = new URLSearchParams({ exp: String(exp), max: String(bytes), sig: this.signer.sign(previewFields(shareId, fileId, exp, bytes)) })
    return {
      kind: what.kind,
      url: `${baseUrl}/api/shares/${shareId}/files/${fileId}/preview?${query}`,
      expiresAt: new Date(exp * 1000).toISOString(),
      bytes,
      partial,
    }
  }

  /** The preview's bytes: the first `max` bytes of the file, seen as a resource of that length (Range within it). */
  async content(o: { shareId: string; fileId: string; exp: number; max: number; sig: string; head: boolean; range: RangeOf; viewer: Viewer }): Promise<FileResponse> {
    await this.deps.limits.consume('download', o.viewer.clientKey)
    if (!this.signer.verify(previewFields(o.shareId, o.fileId, o.exp, o.max), o.sig)) throw new AppError('signature_invalid', 'This preview link is not valid.')
    if (o.exp < Date.now() / 1000) throw new AppError('signature_invalid', 'This preview link has expired; open the share page again.')
    const share = await sharesRepo.findLive(this.deps.db, o.shareId)
    if (!share) throw shareNotFound()
    requireCloudCopy(share)
    await this.allowed(share)
    const file = await sharesRepo.file(this.deps.db, o.shareId, o.fileId)
    const what = file && previewKind(file)
    if (!file || !what) throw shareNotFound()
    const size = Math.min(o.max, file.size)
    const wanted = o.range(size)
    if (wanted === 'unsatisfiable') {
      throw new AppError('range_not_satisfiable', 'The requested range is outside the preview.', { headers: { 'Content-Range': `bytes */${size}` } })
    }
    const range = wanted ?? (size > 0 ? { start: 0, end: size - 1 } : null)
    const headers: Record<string, string> = {
      'Content-Type': what.type,
      // Only the page's media elements, pdf.js and the text view read this; opened on its own it is a download.
      'Content-Disposition': contentDisposition(file.name),
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': 'sandbox',
      'Cross-Origin-Resource-Policy': 'same-origin',
      'Cache-Control': 'private, no-store',
      'Accept-Ranges': 'bytes',
      'Content-Length': String(range ? range.end - range.start + 1 : 0),
    }
    if (wanted) headers['Content-Range'] = `bytes ${wanted.start}-${wanted.end}/${size}`
    const status = wanted ? 206 : 200
    if (o.head || !range) return { status, headers, body: null }
    const opened = await this.downloads.openBytes(file, range)
    if (!opened) throw shareNotFound()
    return { status, headers, body: opened.body }
  }

  private async allowed(share: ShareRow): Promise<void> {
    if (!share.previews || !(await this.deps.settings.policy()).previews) throw disabled()
  }
}

const previewFields = (shareId: string, fileId: string, exp: number, max: number) => ['PREVIEW', shareId, fileId, exp, max] as const

/** How much of a file its preview may read (see the class comment for limited shares). */
export function previewBytes(share: Pick<ShareRow, 'max_downloads'>, file: Pick<FileRow, 'size'>, kind: PreviewKind): { bytes: number; partial: boolean } {
  if (share.max_downloads !== null) {
    if (kind !== 'text' || file.size < PREVIEW_LIMITED_MIN_SIZE) {
      throw new AppError(
        'preview_unsupported',
        'A link with a download limit previews only the beginning of large text files: a preview of this file would be a download that is not counted.',
      )
    }
    return { bytes: PREVIEW_LIMITED_BYTES, partial: true }
  }
  if (kind === 'text') return { bytes: Math.min(file.size, PREVIEW_TEXT_BYTES), partial: file.size > PREVIEW_TEXT_BYTES }
  if ((kind === 'image' || kind === 'pdf') && file.size > PREVIEW_MAX_DOCUMENT_BYTES) {
    throw new AppError('preview_unsupported', 'This file is too large to preview. Download it to open it.')
  }
  return { bytes: file.size, partial: false }
}
