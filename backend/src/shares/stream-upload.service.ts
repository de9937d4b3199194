import { PassThrough, type Readable } from 'node:stream'
import type { ShareOptions, UploadResponse } from '@sharesync/protocol'
import { sharesRepo, type NewFile } from '../db/shares.repo'
import type { Deps } from '../deps'
import { AppError } from '../http/app-error'
import type { Viewer } from '../http/viewer'
import { BlobTooLargeError } from '../storage/blob-store'
import { newShareRow, type Admission } from './admission'
import { shareSummary, storage } from './common'
import { newId, newStorageKey } from './ids'
import { hashPassword } from './password'
import { limitsFor } from './policy'

/** One file streamed by a curl upload. */
export interface StreamedFile {
  name: string
  contentType: string
  body: Readable
}

/** curl uploads (multipart form or raw body): the server streams each file straight into storage. */
export class StreamUploadService {
  constructor(
    private readonly deps: Pick<Deps, 'db' | 'store' | 'events' | 'settings'>,
    private readonly admission: Admission,
  ) {}

  /**
   * Streams each file into storage. The share row exists from the start (status 'uploading'), so an
   * interrupted upload is cleaned up by the janitor; any failure removes what was stored.
   */
  async uploadStream(viewer: Viewer, options: ShareOptions, declaredBytes: number | null, files: AsyncIterable<StreamedFile>, baseUrl: string): Promise<UploadResponse> {
    const { db, store } = this.deps
    const admitted = await this.admission.admit(viewer, options, declaredBytes, 0)
    const policy = admitted.policy
    const id = newId()
    const ownerToken = newId()
    await db.tx((q) => sharesRepo.insertShare(q, newShareRow(id, ownerToken, viewer, admitted), []))
    const stored: NewFile[] = []
    try {
      for await (const f of files) {
        const storageKey = newStorageKey(id)
        // The row first (size 0 until stored), so a failure can find and remove the blob.
        const file: NewFile = { id: newId(), position: stored.length, name: f.name, size: 0, contentType: f.contentType, storageKey, uploadId: null, partSize: 0, partCount: 0 }
        stored.push(file)
        await sharesRepo.insertFile(db, id, file)
        // The store gets its own stream: it may destroy it on failure without killing the
        // client's connection, so the client still reads our error answer.
        const input = f.body.pipe(new PassThrough())
        f.body.once('error', (err) => input.destroy(err))
        const { size } = await storage(() => store.put(storageKey, input, { contentType: f.contentType, maxBytes: policy.maxFileSize })).catch((err: unknown) => {
          f.body.unpipe(input)
          if (err instanceof BlobTooLargeError) throw new AppError('too_large', `Files may be at most ${policy.maxFileSize} bytes.`)
          throw err
        })
        file.size = size
        await sharesRepo.markFileComplete(db, file.id, size)
      }
      if (stored.length === 0) throw new AppError('invalid_input', 'file: no file was sent.')
      const total = stored.reduce((n, f) => n + f.size, 0)
      if (declaredBytes === null && total > 0) await this.admission.consumeQuota(viewer, admitted.live, total)
      await sharesRepo.finalize(db, id)
      this.deps.events.emit('shareCreated', { shareId: id, bytes: total, files: stored.length, anonymous: !viewer.user, userId: viewer.user?.id ?? null })
    } catch (err) {
      await this.discard(id)
      throw err
    }
    return shareSummary({ id, expires_at: admitted.expiresAt, max_downloads: admitted.maxDownloads }, baseUrl, ownerToken)
  }

  /**
   * Applies options that arrived after the file in a multipart body, checked like the rest.
   * If they are refused, the whole upload is discarded: a bad request leaves nothing stored.
   */
  async applyLateOptions(uploaded: UploadResponse, viewer: Viewer, options: ShareOptions, baseUrl: string): Promise<UploadResponse> {
    try {
      const live = await this.deps.settings.policy()
      const policy = limitsFor(live, viewer)
      const expiresIn = options.expiresIn ?? Math.min(live.defaultExpiry, policy.maxExpiry)
      if (expiresIn > policy.maxExpiry) throw new AppError('invalid_input', `expiresIn: must be at most ${policy.maxExpiry} seconds.`)
      const update = {
        expiresAt: new Date(Date.now() + expiresIn * 1000),
        maxDownloads: options.maxDownloads ?? null,
        passwordHash: options.password ? await hashPassword(options.password) : null,
      }
      await sharesRepo.updateOptions(this.deps.db, uploaded.id, update)
      return shareSummary({ id: uploaded.id, expires_at: update.expiresAt, max_downloads: update.maxDownloads }, baseUrl, uploaded.ownerToken)
    } catch (err) {
      await this.discard(uploaded.id)
      throw err
    }
  }

  /** Removes a share that failed while uploading: its blobs and its rows, as if it never existed. */
  async discard(shareId: string): Promise<void> {
    const files = await sharesRepo.files(this.deps.db, shareId).catch(() => [])
    await Promise.all(files.map((f) => this.deps.store.delete(f.storage_key).catch(() => undefined)))
    await sharesRepo.deleteRows(this.deps.db, shareId).catch(() => undefined)
  }
}
