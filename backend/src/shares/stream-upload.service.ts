import type { Readable } from 'node:stream'
import type { ShareOptions, UploadResponse } from '@sharesync/protocol'
import { sharesRepo, type NewFile } from '../db/shares.repo'
import type { Deps } from '../deps'
import { AppError } from '../http/app-error'
import type { Viewer } from '../http/viewer'
import { BlobTooLargeError } from '../storage/blob-store'
import { failWith } from '../storage/byte-meter'
import { newShareRow, type Admission, type Admitted } from './admission'
import { shareSummary, storage } from './common'
import { newId, newStorageKey } from './ids'
import { hashPassword } from './password'
import { checkShareRules, defaultExpiry } from './policy'
import { QuotaMeter } from './quota-meter'
import { sizeInWords } from '../http/in-words'

/** One file streamed by a curl upload. */
export interface StreamedFile {
  name: string
  contentType: string
  body: Readable
  /** The body's length when the client declared it (a raw PUT's Content-Length), else unknown. */
  declaredSize?: number | null
}

/** The options of a curl upload: those of every share, and a note. */
export type StreamOptions = ShareOptions & { note?: string }

export interface StreamUpload {
  /** Options known before the first byte (query string, or form fields before the first file). */
  options: StreamOptions
  files: AsyncIterable<StreamedFile>
  /**
   * The options as they stand once every file has arrived (form fields may follow the files). They
   * are checked like the first ones and applied in the same statement that makes the share
   * downloadable. Throwing (bad input) discards the whole upload. Returning `options` itself means
   * nothing changed.
   */
  finalOptions?: () => StreamOptions
  /** True once the client went away: then a failure is not the server's, and the upload counts. */
  clientGone?: () => boolean
}

/** The options were refused after the files arrived: nothing is kept, nothing is counted. */
class RefusedOptions extends Error {
  constructor(readonly reason: unknown) {
    super('refused options')
    this.name = 'RefusedOptions'
  }
}

/**
 * curl uploads (multipart form or raw body): the server streams each file straight into storage,
 * charging the daily quota as the bytes arrive. The share becomes downloadable only at the very end,
 * with all its options applied; any failure removes what was stored.
 */
export class StreamUploadService {
  constructor(
    private readonly deps: Pick<Deps, 'db' | 'store' | 'events' | 'settings'>,
    private readonly admission: Admission,
  ) {}

  async uploadStream(viewer: Viewer, upload: StreamUpload, baseUrl: string): Promise<UploadResponse> {
    const { db, store } = this.deps
    const admitted = await this.admission.admit(viewer, upload.options, null, 0)
    const { policy, live } = admitted
    const id = newId()
    const ownerToken = newId()
    let charged = 0
    try {
      const extra = { note: upload.options.note?.normalize('NFC') || null, previews: upload.options.previews ?? true }
      await db.tx((q) => sharesRepo.insertShare(q, newShareRow(id, ownerToken, viewer, admitted, null, extra), []))
    } catch (err) {
      await this.admission.refund(viewer, live, 0)
      throw err
    }
    const stored: NewFile[] = []
    try {
      for await (const f of upload.files) {
        const storageKey = newStorageKey(id)
        // The row first (size 0 until stored), so whatever storage holds of it can be found and removed.
        const file: NewFile = { id: newId(), position: stored.length, name: f.name, size: 0, contentType: f.contentType, storageKey, uploadId: null, partSize: 0, partCount: 0 }
        stored.push(file)
        await sharesRepo.insertFile(db, id, file)
        // The quota is charged before a byte reaches storage. The store gets this stream, not the
        // client's: it may destroy it on failure and the client still reads our error answer.
        const meter = new QuotaMeter((bytes) => this.admission.consumeQuota(viewer, live, bytes), f.declaredSize ?? null)
        failWith(f.body, meter)
        f.body.pipe(meter)
        // Failed before we got to it (the form was refused meanwhile): nothing will flow.
        if (f.body.destroyed) meter.destroy(f.body.errored ?? new Error('the upload ended before this file was read'))
        try {
          const { size } = await storage(() =>
            store.put(storageKey, meter, {
              contentType: f.contentType,
              maxBytes: policy.maxFileSize,
              onMultipart: (uploadId) => sharesRepo.recordUpload(db, file.id, uploadId),
            }),
          )
          file.size = size
        } catch (err) {
          f.body.unpipe(meter)
          if (err instanceof BlobTooLargeError) throw new AppError('too_large', `Files may be at most ${sizeInWords(policy.maxFileSize)}.`)
          throw err
        } finally {
          charged += meter.reserved
        }
        await sharesRepo.markFileComplete(db, file.id, file.size)
      }
      if (stored.length === 0) throw new AppError('invalid_input', 'file: no file was sent.')
      const final = await this.finalOptions(viewer, upload, admitted)
      if (!(await sharesRepo.finalize(db, id, final))) throw new Error('a streamed share could not be finalized')
      const total = stored.reduce((n, f) => n + f.size, 0)
      // Blocks of quota taken ahead of the bytes and not used go back.
      await this.admission.refundQuota(viewer, live, charged - total)
      this.deps.events.emit('shareCreated', { shareId: id, bytes: total, files: stored.length, anonymous: !viewer.user, userId: viewer.user?.id ?? null })
      return shareSummary({ id, expires_at: final.expiresAt, max_downloads: final.maxDownloads }, baseUrl, ownerToken)
    } catch (err) {
      await this.discard(id)
      // Nothing is kept, so no quota is used. The upload itself counts against the rate limit
      // unless it failed on our side or its options were refused (then nothing happened at all).
      const ours = err instanceof RefusedOptions || ((!(err instanceof AppError) || err.status >= 500) && !upload.clientGone?.())
      if (ours) await this.admission.refund(viewer, live, charged)
      else await this.admission.refundQuota(viewer, live, charged)
      throw err instanceof RefusedOptions ? err.reason : err
    }
  }

  /** The options to finalize with: the late ones (checked against the viewer's policy), else the first. */
  private async finalOptions(
    viewer: Viewer,
    upload: StreamUpload,
    admitted: Admitted,
  ): Promise<{ expiresAt: Date; maxDownloads: number | null; passwordHash: string | null; note?: string | null; previews?: boolean }> {
    if (!upload.finalOptions) return admitted
    let options: StreamOptions
    try {
      options = upload.finalOptions()
    } catch (err) {
      throw new RefusedOptions(err)
    }
    if (options === upload.options) return admitted
    const { live, policy, rules } = admitted
    const expiresIn = options.expiresIn ?? defaultExpiry(live, policy, rules)
    if (expiresIn > policy.maxExpiry) throw new RefusedOptions(new AppError('invalid_input', `expiresIn: must be at most ${policy.maxExpiry} seconds.`))
    try {
      checkShareRules(rules, { password: Boolean(options.password), expiresIn, maxDownloads: options.maxDownloads ?? null })
    } catch (err) {
      throw new RefusedOptions(err)
    }
    return {
      expiresAt: new Date(Date.now() + expiresIn * 1000),
      maxDownloads: options.maxDownloads ?? null,
      passwordHash: options.password ? await hashPassword(options.password) : null,
      note: options.note?.normalize('NFC') || null,
      previews: options.previews,
    }
  }

  /**
   * Removes a share that failed while uploading: its blobs (and any multipart upload storage still
   * holds) and its rows, as if it never existed. If storage cannot be reached, the rows stay (the
   * share is never visible: it is still 'uploading') so the janitor can remove the blobs later.
   */
  async discard(shareId: string): Promise<void> {
    const files = await sharesRepo.files(this.deps.db, shareId).catch(() => null)
    if (!files) return
    const results = await Promise.allSettled(
      files.map(async (f) => {
        if (f.upload_id) await this.deps.store.abortMultipart(f.storage_key, f.upload_id)
        await this.deps.store.delete(f.storage_key)
      }),
    )
    if (results.every((r) => r.status === 'fulfilled')) await sharesRepo.deleteRows(this.deps.db, shareId).catch(() => undefined)
  }
}
