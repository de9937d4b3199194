import { PassThrough, Readable } from 'node:stream'
import {
  MAX_PART_COUNT,
  type CreateShareRequest,
  type CreateShareResponse,
  type DownloadResponse,
  type ListPartsResponse,
  type ShareMetadata,
  type ShareOptions,
  type SignPartsResponse,
  type UploadResponse,
} from '@sharesync/protocol'
import type { Db, Queryable } from '../db/db'
import { sharesRepo, type FileRow, type NewFile, type NewShare, type ShareRow } from '../db/shares.repo'
import type { Deps } from '../deps'
import { AppError, guardDependency, shareNotFound } from '../http/app-error'
import type { Viewer } from '../http/viewer'
import { BlobTooLargeError, type BlobStore } from '../storage/blob-store'
import { hashToken, newId, newStorageKey, tokenMatches } from './ids'
import { hashPassword, verifyPassword } from './password'
import { limitsFor, quotaRule } from './policy'

const MiB = 2 ** 20
/** Exhausted shares are removed this long after their last download, so an issued URL still works. */
const EXHAUSTED_GRACE_SECONDS = 3600

/** Who claims to own a share: the signed-in viewer and/or an owner token from the request. */
export interface OwnerProof {
  viewer: Viewer
  ownerToken?: string
}

/** One file streamed by a curl upload. */
export interface StreamedFile {
  name: string
  contentType: string
  body: Readable
}

const storage = <T>(work: () => Promise<T>) => guardDependency('storage_unavailable', work)

/** Part size for a file: the configured size, grown (in whole MiB) so no file needs more than 10 000 parts. */
export function partLayout(size: number, configured: number): { partSize: number; partCount: number } {
  const partSize = Math.max(configured, Math.ceil(size / MAX_PART_COUNT / MiB) * MiB)
  return { partSize, partCount: size === 0 ? 0 : Math.ceil(size / partSize) }
}

export class SharesService {
  private readonly db: Db
  private readonly store: BlobStore

  constructor(private readonly deps: Deps) {
    this.db = deps.db
    this.store = deps.store
  }

  // ---------------------------------------------------------------- creating

  /** Checks who may upload and the options against their policy; consumes one upload from the rate limit. */
  private async admitUpload(viewer: Viewer, options: ShareOptions, declaredBytes: number | null, largestFile: number) {
    const { limits } = this.deps
    // The admin's live settings: a change applies from the next request on.
    const live = await this.deps.settings.policy()
    if (!viewer.user && !live.allowAnonymousUploads) {
      throw new AppError('anonymous_uploads_disabled', 'Anonymous uploads are disabled here. Please sign in to share files.')
    }
    const policy = limitsFor(live, viewer)
    const expiresIn = options.expiresIn ?? Math.min(live.defaultExpiry, policy.maxExpiry)
    if (expiresIn > policy.maxExpiry) {
      throw new AppError('invalid_input', `expiresIn: must be at most ${policy.maxExpiry} seconds.`)
    }
    if (largestFile > policy.maxFileSize) {
      throw new AppError('too_large', `Files may be at most ${policy.maxFileSize} bytes.`)
    }
    const rate = await limits.consume('upload', viewer.clientKey, 1, live.uploadRateLimit)
    if (declaredBytes !== null && declaredBytes > 0) {
      await limits.consume(viewer.user ? 'userQuota' : 'anonQuota', viewer.clientKey, declaredBytes, quotaRule(live, viewer)).catch(async (err: unknown) => {
        await limits.refund('upload', viewer.clientKey, 1, live.uploadRateLimit)
        throw err
      })
    }
    return {
      rate,
      expiresAt: new Date(Date.now() + expiresIn * 1000),
      maxDownloads: options.maxDownloads ?? null,
      passwordHash: options.password ? await hashPassword(options.password) : null,
      policy,
      live,
    }
  }

  /** Starts a browser upload: the share row, its files, and a multipart upload per non-empty file. */
  async create(viewer: Viewer, req: CreateShareRequest, baseUrl: string): Promise<CreateShareResponse> {
    const total = req.files.reduce((n, f) => n + f.size, 0)
    const admitted = await this.admitUpload(viewer, req, total, Math.max(...req.files.map((f) => f.size)))
    const id = newId()
    const ownerToken = newId()
    const files: NewFile[] = []
    try {
      for (const [position, f] of req.files.entries()) {
        const { partSize, partCount } = partLayout(f.size, this.deps.config.partSize)
        const storageKey = newStorageKey(id)
        const uploadId = partCount > 0 ? (await storage(() => this.store.createMultipart(storageKey, { contentType: f.type, maxPartBytes: partSize }))).uploadId : null
        files.push({ id: newId(), position, name: f.name, size: f.size, contentType: f.type, storageKey, uploadId, partSize, partCount })
      }
      await this.db.tx((q) => sharesRepo.insertShare(q, newShareRow(id, ownerToken, viewer, admitted), files))
    } catch (err) {
      await Promise.all(files.filter((f) => f.uploadId).map((f) => this.store.abortMultipart(f.storageKey, f.uploadId!).catch(() => undefined)))
      await this.deps.limits.refund('upload', viewer.clientKey, 1, admitted.live.uploadRateLimit)
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
    const share = await this.ownedShare(proof, shareId)
    if (share.status !== 'uploading') throw new AppError('conflict', 'This share is already finalized.')
    const file = await sharesRepo.file(this.db, shareId, fileId)
    if (!file) throw new AppError('not_found', 'No such file in this share.')
    return { share, file }
  }

  /** The share, if the proof shows ownership (owner token, the signed-in owner, or an admin). */
  async ownedShare(proof: OwnerProof, shareId: string, opts: { allowAdmin?: boolean } = {}): Promise<ShareRow> {
    const share = await sharesRepo.findActive(this.db, shareId)
    if (!share) throw shareNotFound()
    const user = proof.viewer.user
    const owns =
      tokenMatches(proof.ownerToken, share.owner_token_hash) ||
      (user !== null && share.owner_user_id === user.id) ||
      (opts.allowAdmin === true && user?.role === 'admin')
    if (!owns) throw new AppError('forbidden', 'Only the owner of this share can do that.')
    return share
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
          url: absolute(await this.store.signPart(file.storage_key, file.upload_id!, partNumber, ttl), baseUrl),
        })),
      ),
    )
    return { parts, expiresAt: new Date(Date.now() + ttl * 1000).toISOString() }
  }

  async listParts(proof: OwnerProof, shareId: string, fileId: string): Promise<ListPartsResponse> {
    const { file } = await this.ownedUpload(proof, shareId, fileId)
    if (!file.upload_id) return { parts: [] }
    const parts = await storage(() => this.store.listParts(file.storage_key, file.upload_id!))
    return { parts: parts.map((p) => ({ partNumber: p.partNumber, etag: p.etag, size: p.size })) }
  }

  /**
   * Completes one file. The stored parts must add up to exactly the declared size; after completion
   * the object is checked again, and deleted if it is bigger than declared.
   */
  async completeFile(proof: OwnerProof, shareId: string, fileId: string, given: { partNumber: number; etag: string }[]): Promise<{ size: number }> {
    const { file } = await this.ownedUpload(proof, shareId, fileId)
    if (file.completed_at) return { size: file.size }
    if (!file.upload_id) {
      // A 0-byte file has no multipart upload: store the empty object directly.
      await storage(() => this.store.put(file.storage_key, Readable.from([]), { contentType: file.content_type, maxBytes: 0 }))
      await sharesRepo.markFileComplete(this.db, file.id, 0)
      return { size: 0 }
    }
    const stored = await storage(() => this.store.listParts(file.storage_key, file.upload_id!))
    const byNumber = new Map(stored.map((p) => [p.partNumber, p]))
    const expected = Array.from({ length: file.part_count }, (_, i) => i + 1)
    const missing = expected.filter((n) => !byNumber.has(n))
    if (missing.length) throw new AppError('upload_incomplete', `Parts missing: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? '…' : ''}.`)
    const storedBytes = expected.reduce((n, p) => n + byNumber.get(p)!.size, 0)
    if (storedBytes > file.size) {
      await this.abortFile(file)
      throw new AppError('too_large', 'The uploaded parts are bigger than the declared file size; the upload was discarded.')
    }
    if (storedBytes !== file.size) throw new AppError('upload_incomplete', `Stored ${storedBytes} of ${file.size} bytes.`)
    const givenByNumber = new Map(given.map((p) => [p.partNumber, normalizeEtag(p.etag)]))
    const mismatch = expected.find((n) => givenByNumber.has(n) && givenByNumber.get(n) !== normalizeEtag(byNumber.get(n)!.etag))
    if (mismatch !== undefined) throw new AppError('conflict', `Part ${mismatch} does not match the stored part (ETag differs).`)

    const parts = expected.map((n) => ({ partNumber: n, etag: byNumber.get(n)!.etag }))
    await storage(() => this.store.completeMultipart(file.storage_key, file.upload_id!, parts))
    const head = await storage(() => this.store.head(file.storage_key))
    if (!head || head.size !== file.size) {
      await storage(() => this.store.delete(file.storage_key))
      throw new AppError(head && head.size > file.size ? 'too_large' : 'upload_incomplete', 'The stored file does not match the declared size; the upload was discarded.')
    }
    await sharesRepo.markFileComplete(this.db, file.id, head.size)
    return { size: head.size }
  }

  private async abortFile(file: FileRow) {
    if (file.upload_id) await storage(() => this.store.abortMultipart(file.storage_key, file.upload_id!))
  }

  async finalize(proof: OwnerProof, shareId: string, baseUrl: string): Promise<UploadResponse> {
    const share = await this.ownedShare(proof, shareId)
    if (share.status === 'uploading') {
      if (!(await sharesRepo.finalize(this.db, shareId))) throw new AppError('upload_incomplete', 'Some files are not completely uploaded yet.')
      this.deps.events.emit('shareCreated', { shareId, bytes: share.total_size, files: share.file_count, anonymous: share.anonymous, userId: share.owner_user_id })
    }
    return this.summary(share, baseUrl)
  }

  private summary(share: Pick<ShareRow, 'id' | 'expires_at' | 'max_downloads'>, baseUrl: string, ownerToken?: string): UploadResponse {
    return {
      id: share.id,
      url: `${baseUrl}/s/${share.id}`,
      downloadUrl: `${baseUrl}/api/shares/${share.id}/download`,
      ...(ownerToken ? { ownerToken } : {}),
      expiresAt: share.expires_at.toISOString(),
      maxDownloads: share.max_downloads,
    }
  }

  /**
   * curl uploads: streams each file straight into storage. The share row exists from the start
   * (status 'uploading'), so an interrupted upload is cleaned up by the janitor; any failure removes
   * what was stored.
   */
  async uploadStream(viewer: Viewer, options: ShareOptions, declaredBytes: number | null, files: AsyncIterable<StreamedFile>, baseUrl: string): Promise<UploadResponse> {
    const admitted = await this.admitUpload(viewer, options, declaredBytes, 0)
    const policy = admitted.policy
    const id = newId()
    const ownerToken = newId()
    await this.db.tx((q) => sharesRepo.insertShare(q, newShareRow(id, ownerToken, viewer, admitted), []))
    const stored: NewFile[] = []
    try {
      for await (const f of files) {
        const storageKey = newStorageKey(id)
        // The row first (size 0 until stored), so a failure can find and remove the blob.
        const file: NewFile = { id: newId(), position: stored.length, name: f.name, size: 0, contentType: f.contentType, storageKey, uploadId: null, partSize: 0, partCount: 0 }
        stored.push(file)
        await sharesRepo.insertFile(this.db, id, file)
        // The store gets its own stream: it may destroy it on failure without killing the
        // client's connection, so the client still reads our error answer.
        const input = f.body.pipe(new PassThrough())
        f.body.once('error', (err) => input.destroy(err))
        const { size } = await storage(() => this.store.put(storageKey, input, { contentType: f.contentType, maxBytes: policy.maxFileSize })).catch((err: unknown) => {
          f.body.unpipe(input)
          if (err instanceof BlobTooLargeError) throw new AppError('too_large', `Files may be at most ${policy.maxFileSize} bytes.`)
          throw err
        })
        file.size = size
        await sharesRepo.markFileComplete(this.db, file.id, size)
      }
      if (stored.length === 0) throw new AppError('invalid_input', 'file: no file was sent.')
      const total = stored.reduce((n, f) => n + f.size, 0)
      if (declaredBytes === null && total > 0) {
        await this.deps.limits.consume(viewer.user ? 'userQuota' : 'anonQuota', viewer.clientKey, total, quotaRule(admitted.live, viewer))
      }
      await sharesRepo.finalize(this.db, id)
      this.deps.events.emit('shareCreated', { shareId: id, bytes: total, files: stored.length, anonymous: !viewer.user, userId: viewer.user?.id ?? null })
    } catch (err) {
      await this.discard(id)
      throw err
    }
    return this.summary({ id, expires_at: admitted.expiresAt, max_downloads: admitted.maxDownloads }, baseUrl, ownerToken)
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
      await sharesRepo.updateOptions(this.db, uploaded.id, update)
      return this.summary({ id: uploaded.id, expires_at: update.expiresAt, max_downloads: update.maxDownloads }, baseUrl, uploaded.ownerToken)
    } catch (err) {
      await this.discard(uploaded.id)
      throw err
    }
  }

  /** Removes a share that failed while uploading: its blobs and its rows, as if it never existed. */
  async discard(shareId: string): Promise<void> {
    const files = await sharesRepo.files(this.db, shareId).catch(() => [])
    await Promise.all(files.map((f) => this.store.delete(f.storage_key).catch(() => undefined)))
    await sharesRepo.deleteRows(this.db, shareId).catch(() => undefined)
  }

  // ---------------------------------------------------------------- reading

  /** Checks the password (rate-limited per share + client); throws 401/429. */
  private async unlock(share: ShareRow, password: string | undefined, viewer: Viewer): Promise<boolean> {
    if (!share.password_hash) return true
    if (password === undefined || password === '') return false
    const key = `${share.id}:${viewer.ip}`
    await this.deps.limits.consume('password', key)
    if (!(await verifyPassword(password, share.password_hash))) {
      throw new AppError('password_invalid', 'The password is not correct.')
    }
    await this.deps.limits.refund('password', key)
    return true
  }

  async metadata(shareId: string, password: string | undefined, viewer: Viewer): Promise<ShareMetadata> {
    const share = await sharesRepo.findLive(this.db, shareId)
    if (!share) throw shareNotFound()
    const base = { id: share.id, expiresAt: share.expires_at.toISOString() }
    if (!(await this.unlock(share, password, viewer))) return { ...base, passwordRequired: true }
    const files = await sharesRepo.files(this.db, share.id)
    const left = (downloads: number) => (share.max_downloads === null ? null : Math.max(0, share.max_downloads - downloads))
    return {
      ...base,
      passwordRequired: share.password_hash !== null,
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
    await this.deps.limits.consume('download', viewer.clientKey)
    const share = await sharesRepo.findLive(this.db, shareId)
    if (!share) throw shareNotFound()
    if (!(await this.unlock(share, password, viewer))) {
      throw new AppError('password_required', 'This share is protected by a password.')
    }
    const files = await sharesRepo.files(this.db, share.id)
    const file = fileId === null ? (files.length === 1 ? files[0] : undefined) : files.find((f) => f.id === fileId)
    if (!file) {
      if (fileId === null) throw new AppError('invalid_input', 'This share has several files: download them one by one (/api/shares/:id/files/:fileId/download).')
      throw shareNotFound()
    }
    const ttl = Math.min(this.deps.config.presignTtl, Math.floor((share.expires_at.getTime() - Date.now()) / 1000))
    if (ttl < 1) throw shareNotFound()
    const url = absolute(await storage(() => this.store.signGet(file.storage_key, { filename: file.name, contentType: file.content_type, ttlSeconds: ttl })), baseUrl)
    const counted = await sharesRepo.countDownload(this.db, share.id, file.id, viewer.user?.id ?? null)
    if (!counted) throw shareNotFound()
    this.deps.events.emit('shareDownloaded', { shareId: share.id, fileId: file.id, bytes: counted.size })
    return { url, expiresAt: new Date(Date.now() + ttl * 1000).toISOString() }
  }

  // ---------------------------------------------------------------- deleting

  /** Owner (token or signed-in) or admin: the blobs go at once, the share answers 404 from now on. */
  async delete(proof: OwnerProof, shareId: string): Promise<void> {
    const share = await this.ownedShare(proof, shareId, { allowAdmin: true })
    const byOwner = tokenMatches(proof.ownerToken, share.owner_token_hash) || (proof.viewer.user !== null && share.owner_user_id === proof.viewer.user.id)
    await this.deleteNow(shareId, byOwner ? 'owner' : 'admin')
  }

  /** Deletes blobs and marks the share deleted, under the share's row lock (safe with the janitor). */
  async deleteNow(shareId: string, by: 'owner' | 'admin' = 'owner'): Promise<boolean> {
    const deleted = await this.db.tx(async (q) => {
      const share = await sharesRepo.lockForDelete(q, shareId)
      if (!share) return false
      await this.removeBlobs(q, [share])
      await sharesRepo.markDeleted(q, [share.id])
      return true
    })
    if (deleted) this.deps.events.emit('shareDeleted', { shareId, by })
    return deleted
  }

  /** Used by the janitor too: deletes every blob (and pending multipart upload) of these shares. */
  async removeBlobs(q: Queryable, shares: Pick<ShareRow, 'id'>[]): Promise<void> {
    for (const share of shares) {
      const files = await sharesRepo.files(q, share.id)
      await storage(() =>
        Promise.all(
          files.map(async (f) => {
            if (f.upload_id) await this.store.abortMultipart(f.storage_key, f.upload_id)
            await this.store.delete(f.storage_key)
          }),
        ),
      )
    }
  }

  static readonly exhaustedGraceSeconds = EXHAUSTED_GRACE_SECONDS
}

/** A new share owned by this viewer (and by whoever holds its owner token), still uploading. */
function newShareRow(id: string, ownerToken: string, viewer: Viewer, admitted: { passwordHash: string | null; maxDownloads: number | null; expiresAt: Date }): NewShare {
  return {
    id,
    ownerUserId: viewer.user?.id ?? null,
    ownerTokenHash: hashToken(ownerToken),
    passwordHash: admitted.passwordHash,
    maxDownloads: admitted.maxDownloads,
    expiresAt: admitted.expiresAt,
    anonymous: !viewer.user,
    clientKey: viewer.clientKey,
    status: 'uploading',
  }
}

function normalizeEtag(etag: string): string {
  return etag.replace(/^W\//, '').replace(/"/g, '').toLowerCase()
}

/** Store URLs may be root-relative (disk store without PUBLIC_URL): make them absolute for clients. */
export function absolute(url: string, baseUrl: string): string {
  return url.startsWith('/') ? `${baseUrl}${url}` : url
}
