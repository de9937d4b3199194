import {
  typeAllowed,
  type CreateFileRequest,
  type CreateRequestUpload,
  type CreateShareResponse,
  type FileRequestView,
  type PublicFileRequest,
  type ReceivedToShare,
  type ReceivedUpload,
  type UploadResponse,
} from '@sharesync/protocol'
import { requestsRepo, type FileRequestRow, type ReceivedRow } from '../db/requests.repo'
import { sharesRepo, type NewFile } from '../db/shares.repo'
import type { Deps } from '../deps'
import { AppError } from '../http/app-error'
import { sizeInWords } from '../http/in-words'
import type { SessionUser, Viewer } from '../http/viewer'
import { shareSummary, storage } from '../shares/common'
import type { ShareDeletion } from '../shares/deletion.service'
import { normalizeTree } from '../shares/folders'
import { hashToken, newId, newStorageKey } from '../shares/ids'
import { hashPassword } from '../shares/password'
import type { PasswordGate } from '../shares/password-gate'
import { checkShareRules, defaultExpiry, quotaRule, rulesFor } from '../shares/policy'
import { partLayout } from '../shares/upload.service'

const LISTED = 100

export const requestNotFound = () => new AppError('request_not_found', 'This file request does not exist (check the link you were given).')

/** The requester, as the limits see them: their quota pays for what is uploaded into their requests. */
function requesterViewer(row: Pick<FileRequestRow, 'owner_user_id' | 'owner_name'>): Viewer {
  const user: SessionUser = { id: row.owner_user_id, email: '', name: row.owner_name, avatarUrl: null, role: 'user' }
  return { user, clientKey: `user:${row.owner_user_id}`, ip: '', address: '' }
}

function status(row: FileRequestRow): FileRequestView['status'] {
  if (row.closed_at) return 'closed'
  if (row.expires_at.getTime() <= Date.now()) return 'expired'
  if (row.max_uses !== null && row.uses >= row.max_uses) return 'used_up'
  if (row.max_bytes !== null && row.used_bytes >= row.max_bytes) return 'used_up'
  if (row.max_files !== null && row.used_files >= row.max_files) return 'used_up'
  return 'open'
}

const left = (max: number | null, used: number) => (max === null ? null : Math.max(0, max - used))

/**
 * File requests: a signed-in requester's link that anyone with it (and its password) uploads into.
 * An upload into a request is a share of the requester's, made here and then driven through the
 * share upload routes with its owner token (same resumable engine, same checks); the request's
 * limits are reserved when it starts, the requester's daily quota pays for its bytes, and it is
 * never a link anyone can open until the requester turns it into a share.
 */
export class FileRequests {
  constructor(
    private readonly deps: Pick<Deps, 'db' | 'store' | 'limits' | 'settings' | 'events'> & { config: Pick<Deps['config'], 'partSize'> },
    private readonly passwords: PasswordGate,
    private readonly deletion: ShareDeletion,
  ) {}

  // ------------------------------------------------------------------ the requester

  async create(user: SessionUser, req: CreateFileRequest, baseUrl: string): Promise<FileRequestView> {
    const live = await this.deps.settings.policy()
    if (rulesFor(live, user).encryptionRequired) {
      throw new AppError(
        'encryption_required',
        'This server accepts only end-to-end encrypted uploads, and uploads into file requests are not encrypted: file requests are not available here.',
      )
    }
    const maxExpiry = live.user.maxExpiry
    const expiresIn = req.expiresIn ?? Math.min(live.defaultExpiry, maxExpiry)
    if (expiresIn > maxExpiry) throw new AppError('invalid_input', `expiresIn: must be at most ${maxExpiry} seconds.`)
    const id = newId()
    await requestsRepo.insert(this.deps.db, {
      id,
      ownerUserId: user.id,
      title: req.title.normalize('NFC'),
      message: req.message?.normalize('NFC') || null,
      passwordHash: req.password ? await hashPassword(req.password) : null,
      maxBytes: req.maxBytes ?? null,
      maxFiles: req.maxFiles ?? null,
      maxUses: req.maxUses ?? null,
      allowedTypes: [...new Set(req.allowedTypes ?? [])],
      expiresAt: new Date(Date.now() + expiresIn * 1000),
    })
    return this.get(user, id, baseUrl)
  }

  async list(user: SessionUser, baseUrl: string): Promise<FileRequestView[]> {
    const rows = await requestsRepo.listOwned(this.deps.db, user.id, LISTED)
    const received = await requestsRepo.received(
      this.deps.db,
      rows.map((r) => r.id),
    )
    return rows.map((r) => view(r, received.get(r.id) ?? [], baseUrl))
  }

  async get(user: SessionUser, id: string, baseUrl: string): Promise<FileRequestView> {
    const row = await requestsRepo.findOwned(this.deps.db, id, user.id)
    if (!row) throw requestNotFound()
    const received = await requestsRepo.received(this.deps.db, [id])
    return view(row, received.get(id) ?? [], baseUrl)
  }

  async close(user: SessionUser, id: string): Promise<void> {
    if (!(await requestsRepo.close(this.deps.db, id, user.id))) throw requestNotFound()
  }

  /** A complete upload becomes a share of the requester's, with a new id (the uploader knows the old one). */
  async toShare(
    user: SessionUser,
    requestId: string,
    uploadId: string,
    options: ReceivedToShare,
    baseUrl: string,
  ): Promise<UploadResponse> {
    if (!(await requestsRepo.findOwned(this.deps.db, requestId, user.id))) throw requestNotFound()
    const live = await this.deps.settings.policy()
    // The share is the requester's: their audience's rules apply, as to a link they upload themselves.
    const rules = rulesFor(live, user)
    if (rules.encryptionRequired) {
      throw new AppError(
        'encryption_required',
        'This server accepts only end-to-end encrypted links from you, and uploads into file requests are not encrypted.',
      )
    }
    const maxExpiry = live.user.maxExpiry
    const expiresIn = options.expiresIn ?? defaultExpiry(live, live.user, rules)
    if (expiresIn > maxExpiry) throw new AppError('invalid_input', `expiresIn: must be at most ${maxExpiry} seconds.`)
    checkShareRules(rules, { password: Boolean(options.password), expiresIn, maxDownloads: options.maxDownloads ?? null })
    const share = {
      id: newId(),
      expiresAt: new Date(Date.now() + expiresIn * 1000),
      maxDownloads: options.maxDownloads ?? null,
      passwordHash: options.password ? await hashPassword(options.password) : null,
      note: options.note?.normalize('NFC') || null,
      previews: options.previews ?? true,
      clientKey: `user:${user.id}`,
    }
    const moved = await this.deps.db.tx((q) => requestsRepo.moveToShare(q, uploadId, requestId, share))
    if (!moved)
      throw new AppError(
        'not_found',
        'No complete upload with this id in this request (it may still be arriving, or was already made a share or removed).',
      )
    this.deps.events.emit('shareCreated', { shareId: share.id, bytes: moved.bytes, files: moved.files, anonymous: false, userId: user.id })
    return shareSummary({ id: share.id, expires_at: share.expiresAt, max_downloads: share.maxDownloads }, baseUrl)
  }

  /** The requester removes a received upload (its files go from storage too). */
  async removeUpload(user: SessionUser, requestId: string, uploadId: string): Promise<void> {
    if (!(await requestsRepo.findOwned(this.deps.db, requestId, user.id))) throw requestNotFound()
    const upload = await sharesRepo.findActive(this.deps.db, uploadId)
    if (!upload || upload.request_id !== requestId) throw new AppError('not_found', 'No upload with this id in this request.')
    await this.deletion.deleteNow(uploadId, 'owner')
  }

  // ------------------------------------------------------------------ the people asked

  /** What the upload page shows. Closed, expired and used-up requests say so (410) instead. */
  async describe(id: string, password: string | undefined, viewer: Viewer): Promise<PublicFileRequest> {
    const row = await this.openRequest(id)
    if (!(await this.passwords.unlock(gateOf(row), password, viewer))) return { id: row.id, title: row.title, passwordRequired: true }
    const live = await this.deps.settings.policy()
    return {
      id: row.id,
      title: row.title,
      passwordRequired: row.password_hash !== null,
      requester: row.owner_name || null,
      message: row.message,
      allowedTypes: row.allowed_types,
      bytesLeft: left(row.max_bytes, row.used_bytes),
      filesLeft: left(row.max_files, row.used_files),
      usesLeft: left(row.max_uses, row.uses),
      maxFileSize: live.user.maxFileSize,
      expiresAt: row.expires_at.toISOString(),
    }
  }

  /**
   * Starts one upload into a request: checks the password, the uploader's upload rate, every file
   * against the request's types and the requester's file size limit, reserves the request's
   * limits and charges the requester's quota, then creates the share and its multipart uploads.
   * The answer is a share upload's: the uploader continues with the share routes and the owner token.
   */
  async startUpload(viewer: Viewer, id: string, req: CreateRequestUpload, baseUrl: string): Promise<CreateShareResponse> {
    const { db, store, limits } = this.deps
    const row = await this.openRequest(id)
    if (!(await this.passwords.unlock(gateOf(row), req.password, viewer))) {
      throw new AppError('password_required', 'This file request is protected by a password.')
    }
    const live = await this.deps.settings.policy()
    const declared = normalizeTree(req.files)
    const total = declared.reduce((n, f) => n + f.size, 0)
    const refused = declared.find((f) => !typeAllowed(row.allowed_types, f))
    if (refused) {
      throw new AppError(
        'request_type_refused',
        `"${refused.name.slice(0, 100)}" is not a type this request accepts (${row.allowed_types.join(', ')}).`,
      )
    }
    const largest = declared.reduce((n, f) => Math.max(n, f.size), 0)
    if (largest > live.user.maxFileSize) throw new AppError('too_large', `Files may be at most ${sizeInWords(live.user.maxFileSize)}.`)
    checkLimits(row, total, declared.length)

    await limits.consume('upload', viewer.clientKey, 1, live.uploadRateLimit)
    const requester = requesterViewer(row)
    const quota = quotaRule(live, requester)
    const refundRate = () => limits.refund('upload', viewer.clientKey, 1, live.uploadRateLimit)
    if (total > 0) {
      await limits.consume('userQuota', requester.clientKey, total, quota).catch(async (err: unknown) => {
        await refundRate()
        throw err instanceof AppError && err.code === 'quota_exceeded'
          ? new AppError(
              'quota_exceeded',
              'The person who asked for these files has used up their daily storage quota: try again tomorrow, or ask them.',
            )
          : err
      })
    }

    const shareId = newId()
    const ownerToken = newId()
    const files: NewFile[] = []
    try {
      for (const [position, f] of declared.entries()) {
        const { partSize, partCount } = partLayout(f.size, this.deps.config.partSize)
        const storageKey = newStorageKey(shareId)
        const uploadId =
          partCount > 0
            ? (await storage(() => store.createMultipart(storageKey, { contentType: f.type, maxPartBytes: partSize }))).uploadId
            : null
        files.push({
          id: newId(),
          position,
          name: f.name,
          path: f.path,
          size: f.size,
          contentType: f.type,
          storageKey,
          uploadId,
          partSize,
          partCount,
        })
      }
      // Kept for as long as one of the requester's links may live; turning it into a share sets its own expiry.
      const expiresAt = new Date(Date.now() + live.user.maxExpiry * 1000)
      await db.tx(async (q) => {
        const reserved = await requestsRepo.reserve(q, id, total, declared.length)
        if (!reserved.ok) {
          if (!reserved.row) throw requestNotFound()
          assertOpen(reserved.row)
          checkLimits(reserved.row, total, declared.length)
          throw new AppError('conflict', 'This file request changed meanwhile: please try again.')
        }
        await sharesRepo.insertShare(
          q,
          {
            id: shareId,
            ownerUserId: row.owner_user_id,
            ownerTokenHash: hashToken(ownerToken),
            passwordHash: null,
            maxDownloads: null,
            expiresAt,
            anonymous: false,
            clientKey: requester.clientKey,
            status: 'uploading',
            requestId: id,
          },
          files,
        )
      })
    } catch (err) {
      await Promise.all(files.filter((f) => f.uploadId).map((f) => store.abortMultipart(f.storageKey, f.uploadId!).catch(() => undefined)))
      await Promise.all([refundRate(), total > 0 ? limits.refund('userQuota', requester.clientKey, total, quota) : Promise.resolve()])
      throw err
    }
    return {
      id: shareId,
      url: `${baseUrl}/request/${id}`,
      ownerToken,
      expiresAt: row.expires_at.toISOString(),
      maxDownloads: null,
      files: files.map((f) => ({ id: f.id, name: f.name, partSize: f.partSize, partCount: f.partCount })),
    }
  }

  /** A request that takes uploads: unknown ids 404, closed, expired and used-up ones 410 with why. */
  private async openRequest(id: string): Promise<FileRequestRow> {
    const row = await requestsRepo.find(this.deps.db, id)
    if (!row || row.owner_disabled) throw requestNotFound()
    assertOpen(row)
    return row
  }
}

/** The password gate counts guesses per request (its own keys, apart from shares'). */
const gateOf = (row: FileRequestRow) => ({ id: `request:${row.id}`, password_hash: row.password_hash })

function assertOpen(row: FileRequestRow): void {
  if (row.closed_at)
    throw new AppError('request_expired', 'This file request was closed by the person who made it: it takes no more uploads.')
  if (row.expires_at.getTime() <= Date.now())
    throw new AppError(
      'request_expired',
      'This file request has expired: it takes no more uploads. Ask the person who sent it for a new link.',
    )
  if (row.max_uses !== null && row.uses >= row.max_uses) {
    throw new AppError('request_used_up', `This file request has taken all the uploads it allows (${row.max_uses}): it takes no more.`)
  }
}

function checkLimits(row: FileRequestRow, bytes: number, files: number): void {
  const bytesLeft = left(row.max_bytes, row.used_bytes)
  if (bytesLeft !== null && bytes > bytesLeft) {
    throw new AppError(
      'request_limit_exceeded',
      `This request accepts at most ${sizeInWords(row.max_bytes!)} in total; ${sizeInWords(bytesLeft)} ${bytesLeft === 1 ? 'is' : 'are'} left, and these files hold ${sizeInWords(bytes)}.`,
    )
  }
  const filesLeft = left(row.max_files, row.used_files)
  if (filesLeft !== null && files > filesLeft) {
    throw new AppError(
      'request_limit_exceeded',
      `This request accepts at most ${row.max_files} files in total; ${filesLeft} ${filesLeft === 1 ? 'is' : 'are'} left, and you chose ${files}.`,
    )
  }
}

function view(row: FileRequestRow, received: ReceivedRow[], baseUrl: string): FileRequestView {
  return {
    id: row.id,
    url: `${baseUrl}/request/${row.id}`,
    title: row.title,
    message: row.message,
    maxBytes: row.max_bytes,
    maxFiles: row.max_files,
    maxUses: row.max_uses,
    allowedTypes: row.allowed_types,
    passwordProtected: row.password_hash !== null,
    expiresAt: row.expires_at.toISOString(),
    usedBytes: row.used_bytes,
    usedFiles: row.used_files,
    uses: row.uses,
    status: status(row),
    createdAt: row.created_at.toISOString(),
    uploads: received.map(receivedUpload),
  }
}

function receivedUpload(r: ReceivedRow): ReceivedUpload {
  const files = typeof r.files === 'string' ? (JSON.parse(r.files) as Exclude<ReceivedRow['files'], string>) : r.files
  return {
    id: r.id,
    status: r.status === 'ready' ? 'received' : 'uploading',
    files: files.map((f) => ({ name: f.name, path: f.path, size: Number(f.size), type: f.type })),
    totalSize: Number(r.total_size),
    createdAt: new Date(r.created_at).toISOString(),
    receivedAt: r.finalized_at ? new Date(r.finalized_at).toISOString() : null,
  }
}
