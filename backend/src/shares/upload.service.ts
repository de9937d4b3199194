import { Readable } from 'node:stream'
import { ENCRYPTED_CHUNK_SIZE, MAX_PART_COUNT, type CreateShareRequest, type CreateShareResponse, type ListPartsResponse, type SignPartsResponse, type UploadResponse } from '@sharesync/protocol'
import { sharesRepo, type FileRow, type NewFile, type ShareRow } from '../db/shares.repo'
import type { Deps } from '../deps'
import { AppError } from '../http/app-error'
import type { Viewer } from '../http/viewer'
import { newShareRow, type Admission } from './admission'
import { absolute, ownedShare, shareSummary, storage, type OwnerProof } from './common'
import { newId, newStorageKey } from './ids'

const MiB = 2 ** 20

/**
 * Part size for a file: the configured size, grown (in whole MiB) so no file needs more than 10 000
 * parts, and rounded up to a multiple of `align` (encrypted files: whole 64 KiB records per part).
 */
export function partLayout(size: number, configured: number, align = 1): { partSize: number; partCount: number } {
  const grown = Math.max(configured, Math.ceil(size / MAX_PART_COUNT / MiB) * MiB)
  const partSize = Math.ceil(grown / align) * align
  return { partSize, partCount: size === 0 ? 0 : Math.ceil(size / partSize) }
}

/** What the server stores for a declared file: an encrypted one gets a placeholder name and type. */
function declaredFiles(req: CreateShareRequest): { name: string; size: number; type: string }[] {
  if (!req.encrypted) return req.files
  return req.files.map((f, i) => ({ name: `file-${i + 1}.encrypted`, size: f.size, type: 'application/octet-stream' }))
}

/**
 * Browser uploads: the share and its multipart uploads are created up front, the browser PUTs parts
 * straight to storage, completes each file and finalizes the share.
 */
export class UploadService {
  constructor(
    private readonly deps: Pick<Deps, 'db' | 'store' | 'limits' | 'events'> & { config: Pick<Deps['config'], 'partSize' | 'presignTtl'> },
    private readonly admission: Admission,
  ) {}

  /** Starts a browser upload: the share row, its files, and a multipart upload per non-empty file. */
  async create(viewer: Viewer, req: CreateShareRequest, baseUrl: string): Promise<CreateShareResponse> {
    const { db, store } = this.deps
    const declared = declaredFiles(req)
    const total = declared.reduce((n, f) => n + f.size, 0)
    const admitted = await this.admission.admit(viewer, req, total, Math.max(...declared.map((f) => f.size)), { encrypted: req.encrypted === true })
    const id = newId()
    const ownerToken = newId()
    const files: NewFile[] = []
    const align = req.encrypted ? ENCRYPTED_CHUNK_SIZE : 1
    try {
      for (const [position, f] of declared.entries()) {
        const { partSize, partCount } = partLayout(f.size, this.deps.config.partSize, align)
        const storageKey = newStorageKey(id)
        const uploadId = partCount > 0 ? (await storage(() => store.createMultipart(storageKey, { contentType: f.type, maxPartBytes: partSize }))).uploadId : null
        files.push({ id: newId(), position, name: f.name, size: f.size, contentType: f.type, storageKey, uploadId, partSize, partCount })
      }
      const encryption = req.encrypted ? { metadata: req.metadata } : null
      await db.tx((q) => sharesRepo.insertShare(q, newShareRow(id, ownerToken, viewer, admitted, encryption), files))
    } catch (err) {
      await Promise.all(files.filter((f) => f.uploadId).map((f) => store.abortMultipart(f.storageKey, f.uploadId!).catch(() => undefined)))
      await this.admission.refundUpload(viewer, admitted.live)
      throw err
    }
    return {
      id,
      url: `${baseUrl}/s/${id}`,
      ownerToken,
      expiresAt: admitted.expiresAt.toISOString(),
      maxDownloads: admitted.maxDownloads,
      files: files.map((f) => ({ id: f.id, name: f.name, partSize: f.partSize, partCount: f.partCount })),
    }
  }

  private async ownedUpload(proof: OwnerProof, shareId: string, fileId: string): Promise<{ share: ShareRow; file: FileRow }> {
    const share = await ownedShare(this.deps.db, proof, shareId)
    if (share.status !== 'uploading') throw new AppError('conflict', 'This share is already finalized.')
    const file = await sharesRepo.file(this.deps.db, shareId, fileId)
    if (!file) throw new AppError('not_found', 'No such file in this share.')
    return { share, file }
  }

  async signParts(proof: OwnerProof, shareId: string, fileId: string, partNumbers: number[], baseUrl: string): Promise<SignPartsResponse> {
    await this.deps.limits.consume('signParts', proof.viewer.clientKey)
    const { file } = await this.ownedUpload(proof, shareId, fileId)
    if (!file.upload_id) throw new AppError('conflict', 'This file is already complete.')
    const outOfRange = partNumbers.find((n) => n > file.part_count)
    if (outOfRange !== undefined) throw new AppError('invalid_input', `partNumbers: this file has ${file.part_count} parts, not ${outOfRange}.`)
    const ttl = this.deps.config.presignTtl
    const parts = await storage(() =>
      Promise.all(
        [...new Set(partNumbers)].map(async (partNumber) => ({
          partNumber,
          url: absolute(await this.deps.store.signPart(file.storage_key, file.upload_id!, partNumber, ttl), baseUrl),
        })),
      ),
    )
    return { parts, expiresAt: new Date(Date.now() + ttl * 1000).toISOString() }
  }

  async listParts(proof: OwnerProof, shareId: string, fileId: string): Promise<ListPartsResponse> {
    const { file } = await this.ownedUpload(proof, shareId, fileId)
    if (!file.upload_id) return { parts: [] }
    const parts = await storage(() => this.deps.store.listParts(file.storage_key, file.upload_id!))
    return { parts: parts.map((p) => ({ partNumber: p.partNumber, etag: p.etag, size: p.size })) }
  }

  /**
   * Completes one file. The stored parts must add up to exactly the declared size; after completion
   * the object is checked again, and deleted if it is bigger than declared.
   */
  async completeFile(proof: OwnerProof, shareId: string, fileId: string, given: { partNumber: number; etag: string }[]): Promise<{ size: number }> {
    const { db, store } = this.deps
    const { file } = await this.ownedUpload(proof, shareId, fileId)
    if (file.completed_at) return { size: file.size }
    if (!file.upload_id) {
      // A 0-byte file has no multipart upload: store the empty object directly.
      await storage(() => store.put(file.storage_key, Readable.from([]), { contentType: file.content_type, maxBytes: 0 }))
      await sharesRepo.markFileComplete(db, file.id, 0)
      return { size: 0 }
    }
    const stored = await storage(() => store.listParts(file.storage_key, file.upload_id!))
    const byNumber = new Map(stored.map((p) => [p.partNumber, p]))
    const expected = Array.from({ length: file.part_count }, (_, i) => i + 1)
    const missing = expected.filter((n) => !byNumber.has(n))
    if (missing.length) throw new AppError('upload_incomplete', `Parts missing: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? '…' : ''}.`)
    const storedBytes = expected.reduce((n, p) => n + byNumber.get(p)!.size, 0)
    if (storedBytes > file.size) {
      await storage(() => store.abortMultipart(file.storage_key, file.upload_id!))
      throw new AppError('too_large', 'The uploaded parts are bigger than the declared file size; the upload was discarded.')
    }
    if (storedBytes !== file.size) throw new AppError('upload_incomplete', `Stored ${storedBytes} of ${file.size} bytes.`)
    const givenByNumber = new Map(given.map((p) => [p.partNumber, normalizeEtag(p.etag)]))
    const mismatch = expected.find((n) => givenByNumber.has(n) && givenByNumber.get(n) !== normalizeEtag(byNumber.get(n)!.etag))
    if (mismatch !== undefined) throw new AppError('conflict', `Part ${mismatch} does not match the stored part (ETag differs).`)

    const parts = expected.map((n) => ({ partNumber: n, etag: byNumber.get(n)!.etag }))
    await storage(() => store.completeMultipart(file.storage_key, file.upload_id!, parts))
    const head = await storage(() => store.head(file.storage_key))
    if (!head || head.size !== file.size) {
      await storage(() => store.delete(file.storage_key))
      throw new AppError(head && head.size > file.size ? 'too_large' : 'upload_incomplete', 'The stored file does not match the declared size; the upload was discarded.')
    }
    await sharesRepo.markFileComplete(db, file.id, head.size)
    return { size: head.size }
  }

  async finalize(proof: OwnerProof, shareId: string, baseUrl: string): Promise<UploadResponse> {
    const share = await ownedShare(this.deps.db, proof, shareId)
    if (share.status === 'uploading') {
      if (!(await sharesRepo.finalize(this.deps.db, shareId))) throw new AppError('upload_incomplete', 'Some files are not completely uploaded yet.')
      this.deps.events.emit('shareCreated', { shareId, bytes: share.total_size, files: share.file_count, anonymous: share.anonymous, userId: share.owner_user_id })
    }
    return shareSummary(share, baseUrl)
  }
}

function normalizeEtag(etag: string): string {
  return etag.replace(/^W\//, '').replace(/"/g, '').toLowerCase()
}
