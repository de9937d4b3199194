import type { CreateTextRequest, RevealTextResponse, UploadResponse } from '@sharesync/protocol'
import { sharesRepo } from '../db/shares.repo'
import { textsRepo } from '../db/texts.repo'
import type { Deps } from '../deps'
import { AppError, shareNotFound } from '../http/app-error'
import type { Viewer } from '../http/viewer'
import { newShareRow, type Admission } from './admission'
import { shareSummary } from './common'
import { newId } from './ids'
import type { PasswordGate } from './password-gate'

/**
 * Text-only shares: a snippet, a password or a link, with the options of any share (expiry, download
 * limit, password). The text lives in the database, as written (plain) or sealed in a second
 * envelope (encrypted), never in storage. Each reveal is a download, counted in the statement that reads the text; the
 * last allowed one wipes it, so a one-time text shows once and then answers 404.
 */
export class TextService {
  constructor(
    private readonly deps: Pick<Deps, 'db' | 'limits' | 'events'>,
    private readonly admission: Admission,
    private readonly passwords: PasswordGate,
  ) {}

  async create(viewer: Viewer, req: CreateTextRequest, baseUrl: string): Promise<UploadResponse> {
    const bytes = Buffer.byteLength(req.text) + Buffer.byteLength(req.encrypted ? req.metadata : (req.note ?? ''))
    const admitted = await this.admission.admit(viewer, req, bytes, 0, { encrypted: req.encrypted === true })
    const id = newId()
    const ownerToken = newId()
    const extra = { kind: 'text' as const, text: req.text, note: req.encrypted ? null : req.note?.normalize('NFC') || null }
    try {
      await this.deps.db.tx((q) =>
        sharesRepo.insertShare(q, { ...newShareRow(id, ownerToken, viewer, admitted, req.encrypted ? { metadata: req.metadata } : null, extra), status: 'ready' }, []),
      )
    } catch (err) {
      await this.admission.refund(viewer, admitted.live, bytes)
      throw err
    }
    this.deps.events.emit('shareCreated', { shareId: id, bytes, files: 0, anonymous: !viewer.user, userId: viewer.user?.id ?? null })
    const summary = shareSummary({ id, expires_at: admitted.expiresAt, max_downloads: admitted.maxDownloads }, baseUrl, ownerToken)
    return { ...summary, downloadUrl: `${baseUrl}/api/shares/${id}/text` }
  }

  /** The text (or the envelope that holds it): one download, counted as it is read. */
  async reveal(shareId: string, password: string | undefined, viewer: Viewer): Promise<RevealTextResponse> {
    const { db } = this.deps
    await this.deps.limits.consume('download', viewer.clientKey)
    const share = await sharesRepo.findLive(db, shareId)
    if (!share || share.kind !== 'text') throw shareNotFound()
    if (!(await this.passwords.unlock(share, password, viewer))) throw new AppError('password_required', 'This text is protected by a password.')
    const read = await textsRepo.reveal(db, shareId, viewer.user?.id ?? null)
    if (!read) throw shareNotFound()
    this.deps.events.emit('shareDownloaded', { shareId, fileId: '', bytes: Buffer.byteLength(read.text ?? '') })
    const left = read.max_downloads === null ? null : Math.max(0, read.max_downloads - read.downloads)
    if (read.encrypted) return { sealedText: read.text ?? '', downloadsLeft: left }
    return { text: read.text ?? '', ...(read.note ? { note: read.note } : {}), downloadsLeft: left }
  }
}
