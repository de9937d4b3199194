import { Readable } from 'node:stream'
import {
  ENCRYPTED_CHUNK_SIZE,
  expectedPartSize,
  MAX_PART_COUNT,
  type CreateShareRequest,
  type CreateShareResponse,
  type ListPartsResponse,
  type SignPartsResponse,
  type ShareDelivery,
  type UploadFileState,
  type UploadResponse,
  type UploadState,
} from '@sharesync/protocol'
import { sharesRepo, type FileRow, type NewFile, type ShareRow } from '../db/shares.repo'
import type { Deps } from '../deps'
import { AppError } from '../http/app-error'
import type { Viewer } from '../http/viewer'
import type { Part } from '../storage/blob-store'
import { newShareRow, type Admission } from './admission'
import { absolute, ownedShare, shareSummary, storage, type OwnerProof } from './common'
import { normalizeTree } from './folders'
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

/**
 * What the server stores for a declared file: names and folders normalized and checked (folders.ts);
 * an encrypted one gets a placeholder name and type (its real name and folder are in the envelope).
 */
function declaredFiles(req: CreateShareRequest): { name: string; path: string; size: number; type: string }[] {
  if (!req.encrypted) return normalizeTree(req.files)
  return req.files.map((f, i) => ({ name: `file-${i + 1}.encrypted`, path: '', size: f.size, type: 'application/octet-stream' }))
}

const shareFinalized = () => new AppError('share_finalized', 'This share is already finalized: its link works and nothing is left to upload.')
const fileCompleted = () => new AppError('file_completed', 'This file is already complete: no more parts are accepted for it.')
const uploadLost = () => new AppError('not_found', 'This file\'s upload no longer exists in storage (it was aborted or cleaned up). Please start a new upload.')
const cloudCopyOff = () => new AppError('cloud_copy_off', "This link keeps no cloud copy (cloudCopy: false): no files are uploaded for it; the sender's page serves it directly.")
const layoutOf = (file: FileRow) => ({ size: file.size, partSize: file.part_size })

/**
 * Browser uploads: the share and its multipart uploads are created up front, the browser PUTs parts
 * straight to storage, completes each file and finalizes the share. Every step can be repeated
 * (after a lost answer, a reload, or on another instance) and gives the same result.
 */
export class UploadService {
  constructor(
    private readonly deps: Pick<Deps, 'db' | 'store' | 'limits' | 'events' | 'downloadEvents'> & { config: Pick<Deps['config'], 'partSize' | 'presignTtl'> },
    private readonly admission: Admission,
  ) {}

  /** Starts a browser upload: the share row, its files, and a multipart upload per non-empty file. */
  async create(viewer: Viewer, req: CreateShareRequest, baseUrl: string): Promise<CreateShareResponse> {
    const { db, store } = this.deps
    const declared = declaredFiles(req)
    const total = declared.reduce((n, f) => n + f.size, 0)
    const direct = req.direct === true
    // No cloud copy: no bytes will ever be stored, so none are charged to the quota.
    const cloudCopy = !direct || req.cloudCopy !== false
    const quotaBytes = cloudCopy ? total : 0
    const admitted = await this.admission.admit(viewer, req, quotaBytes, Math.max(...declared.map((f) => f.size)), { encrypted: req.encrypted === true })
    const id = newId()
    const ownerToken = newId()
    const files: NewFile[] = []
    const align = req.encrypted ? ENCRYPTED_CHUNK_SIZE : 1
    try {
      for (const [position, f] of declared.entries()) {
        const { partSize, partCount } = partLayout(f.size, this.deps.config.partSize, align)
        const storageKey = newStorageKey(id)
        const uploadId = partCount > 0 && cloudCopy ? (await storage(() => store.createMultipart(storageKey, { contentType: f.type, maxPartBytes: partSize }))).uploadId : null
        files.push({ id: newId(), position, name: f.name, path: f.path, size: f.size, contentType: f.type, storageKey, uploadId, partSize, partCount })
      }
      const encryption = req.encrypted ? { metadata: req.metadata } : null
      const extra = { note: req.encrypted ? null : req.note?.normalize('NFC') || null, previews: req.previews ?? true, direct, cloudCopy }
      await db.tx((q) => sharesRepo.insertShare(q, newShareRow(id, ownerToken, viewer, admitted, encryption, extra), files))
    } catch (err) {
      await Promise.all(files.filter((f) => f.uploadId).map((f) => store.abortMultipart(f.storageKey, f.uploadId!).catch(() => undefined)))
      // Nothing was created: the upload's rate point and its bytes go back to the client.
      await this.admission.refund(viewer, admitted.live, quotaBytes)
      throw err
    }
    return {
      id,
      url: `${baseUrl}/s/${id}`,
      ownerToken,
      expiresAt: admitted.expiresAt.toISOString(),
      maxDownloads: admitted.maxDownloads,
      files: files.map((f) => ({ id: f.id, name: f.name, partSize: f.partSize, partCount: f.partCount })),
      ...(direct ? { direct, cloudCopy } : {}),
    }
  }

  /** The upload's state, from the database and storage: what the web app resumes from. */
  async state(proof: OwnerProof, shareId: string): Promise<UploadState> {
    await this.deps.limits.consume('signParts', proof.viewer.clientKey)
    const share = await ownedShare(this.deps.db, proof, shareId)
    const files = await sharesRepo.files(this.deps.db, share.id)
    const finalized = share.status !== 'uploading'
    const states = await Promise.all(files.map((f): Promise<UploadFileState> => (finalized ? Promise.resolve(fileState(f, true, [])) : this.fileState(f))))
    if (!finalized) return { id: share.id, status: 'uploading', files: states }
    // this instance's latest download counts first (they are written in batches)
    await this.deps.downloadEvents.flush()
    const tally = await sharesRepo.downloadTally(this.deps.db, share.id)
    const delivery: ShareDelivery = {
      downloads: tally.n,
      maxDownloads: share.max_downloads,
      lastDownloadAt: (tally.last ?? share.last_download_at)?.toISOString() ?? null,
      usedUp: share.max_downloads !== null && share.downloads >= share.max_downloads,
      expiresAt: share.expires_at.toISOString(),
    }
    return { id: share.id, status: 'finalized', files: states, delivery }
  }

  private async fileState(file: FileRow): Promise<UploadFileState> {
    if (file.completed_at) return fileState(file, true, [])
    if (!file.upload_id) return fileState(file, false, [])
    const parts = await this.storedParts(file)
    if (parts) return fileState(file, false, parts)
    if (await this.recogniseCompleted(file)) return fileState(file, true, [])
    throw uploadLost()
  }

  /** An uploader route on one file of a share that is still uploading. */
  private async uploadingFile(proof: OwnerProof, shareId: string, fileId: string): Promise<{ share: ShareRow; file: FileRow }> {
    const share = await ownedShare(this.deps.db, proof, shareId)
    if (!share.cloud_copy) throw cloudCopyOff()
    const file = await sharesRepo.file(this.deps.db, shareId, fileId)
    if (!file) throw new AppError('not_found', 'No such file in this share.')
    return { share, file }
  }

  async signParts(proof: OwnerProof, shareId: string, fileId: string, partNumbers: number[], baseUrl: string): Promise<SignPartsResponse> {
    await this.deps.limits.consume('signParts', proof.viewer.clientKey)
    const { share, file } = await this.uploadingFile(proof, shareId, fileId)
    if (share.status !== 'uploading') throw shareFinalized()
    if (file.completed_at || !file.upload_id) throw fileCompleted()
    const outOfRange = partNumbers.find((n) => n > file.part_count)
    if (outOfRange !== undefined) throw new AppError('invalid_input', `partNumbers: this file has ${file.part_count} parts, not ${outOfRange}.`)
    const ttl = this.deps.config.presignTtl
    const parts = await storage(() =>
      Promise.all(
        [...new Set(partNumbers)].map(async (partNumber) => ({
          partNumber,
          // Each URL accepts at most the bytes this part holds: the declared size is the limit, not the part size.
          url: absolute(await this.deps.store.signPart(file.storage_key, file.upload_id!, partNumber, ttl, { size: expectedPartSize(layoutOf(file), partNumber) }), baseUrl),
        })),
      ),
    )
    return { parts, expiresAt: new Date(Date.now() + ttl * 1000).toISOString() }
  }

  async listParts(proof: OwnerProof, shareId: string, fileId: string): Promise<ListPartsResponse> {
    const { share, file } = await this.uploadingFile(proof, shareId, fileId)
    if (share.status !== 'uploading') throw shareFinalized()
    if (file.completed_at) throw fileCompleted()
    if (!file.upload_id) return { parts: [] }
    const parts = await this.storedParts(file)
    if (parts) return { parts: parts.map((p) => ({ partNumber: p.partNumber, etag: p.etag, size: p.size })) }
    if (await this.recogniseCompleted(file)) throw fileCompleted()
    throw uploadLost()
  }

  /**
   * Completes one file. Every part must be stored with exactly the size its place in the file
   * implies; after completion the object is checked again, and deleted if it does not match.
   * Idempotent: a completed file answers its size, also when only storage knows it is complete
   * (a crash between storage's completion and the database update).
   */
  async completeFile(proof: OwnerProof, shareId: string, fileId: string, given: { partNumber: number; etag: string }[]): Promise<{ size: number }> {
    const { db, store } = this.deps
    const { share, file } = await this.uploadingFile(proof, shareId, fileId)
    if (file.completed_at) return { size: file.size }
    if (share.status !== 'uploading') throw shareFinalized()
    if (!file.upload_id) {
      // A 0-byte file has no multipart upload: store the empty object directly.
      await storage(() => store.put(file.storage_key, Readable.from([]), { contentType: file.content_type, maxBytes: 0 }))
      await sharesRepo.markFileComplete(db, file.id, 0)
      return { size: 0 }
    }
    const stored = await this.storedParts(file)
    if (!stored) {
      if (await this.recogniseCompleted(file)) return { size: file.size }
      throw uploadLost()
    }
    const byNumber = new Map(stored.map((p) => [p.partNumber, p]))
    const expected = Array.from({ length: file.part_count }, (_, i) => i + 1)
    const missing = expected.filter((n) => !byNumber.has(n))
    if (missing.length) throw new AppError('upload_incomplete', `Parts missing: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? '…' : ''}.`)
    const oversize = expected.find((n) => byNumber.get(n)!.size > expectedPartSize(layoutOf(file), n))
    if (oversize !== undefined) {
      // Only a store that ignores the signed Content-Length lets this happen: drop the whole upload.
      await storage(() => store.abortMultipart(file.storage_key, file.upload_id!))
      throw new AppError('too_large', `Part ${oversize} holds more bytes than the declared file size allows; the upload was discarded.`)
    }
    const short = expected.find((n) => byNumber.get(n)!.size !== expectedPartSize(layoutOf(file), n))
    if (short !== undefined) {
      throw new AppError('part_mismatch', `Part ${short} holds ${byNumber.get(short)!.size} of its ${expectedPartSize(layoutOf(file), short)} bytes: send it again.`)
    }
    const givenByNumber = new Map(given.map((p) => [p.partNumber, normalizeEtag(p.etag)]))
    const mismatch = expected.find((n) => givenByNumber.has(n) && givenByNumber.get(n) !== normalizeEtag(byNumber.get(n)!.etag))
    if (mismatch !== undefined) throw new AppError('part_mismatch', `Part ${mismatch} does not match the stored part (ETag differs): send it again.`)

    const parts = expected.map((n) => ({ partNumber: n, etag: byNumber.get(n)!.etag }))
    try {
      await storage(() => store.completeMultipart(file.storage_key, file.upload_id!, parts))
    } catch (err) {
      // Completed meanwhile by another request (a retry, another instance): the object is there.
      if (err instanceof AppError && err.code === 'not_found' && (await this.recogniseCompleted(file))) return { size: file.size }
      throw err
    }
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
    if (!share.cloud_copy) throw cloudCopyOff()
    if (share.status === 'uploading') {
      if (!(await sharesRepo.finalize(this.deps.db, shareId))) throw new AppError('upload_incomplete', 'Some files are not completely uploaded yet.')
      if (share.request_id) {
        this.deps.events.emit('requestReceived', { requestId: share.request_id, shareId, bytes: share.total_size, files: share.file_count, userId: share.owner_user_id })
      } else {
        this.deps.events.emit('shareCreated', { shareId, bytes: share.total_size, files: share.file_count, anonymous: share.anonymous, userId: share.owner_user_id })
      }
    }
    return shareSummary(share, baseUrl)
  }

  /** The parts storage holds for this file's upload, or null when storage no longer knows the upload. */
  private async storedParts(file: FileRow): Promise<Part[] | null> {
    try {
      return await storage(() => this.deps.store.listParts(file.storage_key, file.upload_id!))
    } catch (err) {
      if (err instanceof AppError && err.code === 'not_found') return null
      throw err
    }
  }

  /**
   * The multipart upload is gone from storage: if the object is there with the declared size, an
   * earlier completion succeeded and only its database update was lost. Records it and says true.
   */
  private async recogniseCompleted(file: FileRow): Promise<boolean> {
    const head = await storage(() => this.deps.store.head(file.storage_key))
    if (!head || head.size !== file.size) return false
    await sharesRepo.markFileComplete(this.deps.db, file.id, head.size)
    return true
  }
}

function fileState(file: FileRow, completed: boolean, parts: Part[]): UploadFileState {
  return {
    id: file.id,
    size: file.size,
    partSize: file.part_size,
    partCount: file.part_count,
    completed,
    parts: parts.filter((p) => p.partNumber >= 1 && p.partNumber <= MAX_PART_COUNT).map((p) => ({ partNumber: p.partNumber, etag: p.etag, size: p.size })),
  }
}

function normalizeEtag(etag: string): string {
  return etag.replace(/^W\//, '').replace(/"/g, '').toLowerCase()
}
