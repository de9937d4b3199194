import { z } from 'zod'

/** Limits of the protocol itself (not of a deployment: those come from /api/config). */
export const MAX_FILES_PER_SHARE = 100
export const MAX_FILE_NAME_LENGTH = 10_000
export const MIN_PART_SIZE = 5 * 1024 * 1024
export const MAX_PART_COUNT = 10_000
export const MAX_PASSWORD_LENGTH = 256

/** Share ids and file ids: 128 random bits, base64url (22 chars). */
export const ShareId = z.string().regex(/^[A-Za-z0-9_-]{22,64}$/, 'not a share id')
export const FileId = z.string().regex(/^[A-Za-z0-9_-]{22,64}$/, 'not a file id')

const seconds = z.number().int().positive().max(10 * 365 * 24 * 3600)
const downloads = z.number().int().min(1).max(1_000_000)
const password = z.string().min(1).max(MAX_PASSWORD_LENGTH)

export const ShareOptions = z.object({
  expiresIn: seconds.optional(),
  maxDownloads: downloads.nullish(),
  password: password.nullish(),
})
export type ShareOptions = z.infer<typeof ShareOptions>

/** Options given as strings (multipart form fields or query parameters of curl uploads). */
export const ShareOptionsFromStrings = z.object({
  expiresIn: z.coerce.number().pipe(seconds).optional(),
  maxDownloads: z.coerce.number().pipe(downloads).optional(),
  password: password.optional(),
})

export const FileDeclaration = z.object({
  name: z.string().min(1).max(MAX_FILE_NAME_LENGTH),
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  type: z.string().max(255).optional().default('application/octet-stream'),
})

/**
 * End-to-end encrypted shares (docs/encryption.md): the browser encrypts contents, names, types and
 * the note; the server stores ciphertext, encrypted sizes and one opaque metadata envelope. Part sizes
 * of encrypted files are multiples of ENCRYPTED_CHUNK_SIZE so that every part holds whole records.
 */
export const ENCRYPTED_CHUNK_SIZE = 65_536
/** The smallest encrypted file (an empty one): a 16-byte header and one 16-byte tag. */
export const MIN_ENCRYPTED_FILE_SIZE = 32
/** The metadata envelope, base64url: 96 KiB of names and note after encryption and padding. */
export const MAX_ENCRYPTED_METADATA_LENGTH = 131_072
const MIN_ENCRYPTED_METADATA_LENGTH = 40

export const EncryptedMetadata = z
  .string()
  .min(MIN_ENCRYPTED_METADATA_LENGTH, 'metadata: too short to be an encrypted envelope')
  .max(MAX_ENCRYPTED_METADATA_LENGTH, `metadata: at most ${MAX_ENCRYPTED_METADATA_LENGTH} characters`)
  .regex(/^[A-Za-z0-9_-]+$/, 'metadata: must be base64url (A-Z, a-z, 0-9, - and _, no padding)')

/** An encrypted file is declared by its encrypted size only: a name or type here would leak. */
export const EncryptedFileDeclaration = z
  .object({ size: z.number().int().min(MIN_ENCRYPTED_FILE_SIZE).max(Number.MAX_SAFE_INTEGER) })
  .strict()

const PlainShareRequest = ShareOptions.extend({
  encrypted: z.literal(false).optional(),
  metadata: z.never({ error: 'metadata: only end-to-end encrypted shares (encrypted: true) carry metadata' }).optional(),
  files: z.array(FileDeclaration).min(1).max(MAX_FILES_PER_SHARE),
})

const EncryptedShareRequest = ShareOptions.extend({
  encrypted: z.literal(true),
  metadata: EncryptedMetadata,
  files: z.array(EncryptedFileDeclaration).min(1).max(MAX_FILES_PER_SHARE),
}).strict()

export const CreateShareRequest = z.discriminatedUnion('encrypted', [PlainShareRequest, EncryptedShareRequest])
export type CreateShareRequest = z.infer<typeof CreateShareRequest>

export interface CreateShareResponse {
  id: string
  url: string
  ownerToken?: string
  expiresAt: string
  maxDownloads: number | null
  files: { id: string; name: string; partSize: number; partCount: number }[]
}

export const SignPartsRequest = z.object({
  partNumbers: z.array(z.number().int().min(1).max(MAX_PART_COUNT)).min(1).max(1000),
})
export interface SignPartsResponse {
  parts: { partNumber: number; url: string }[]
  expiresAt: string
}

export interface ListPartsResponse {
  parts: { partNumber: number; etag: string; size: number }[]
}

/** A part storage holds for a file that is still uploading. */
export const StoredPart = z.object({
  partNumber: z.number().int().min(1).max(MAX_PART_COUNT),
  etag: z.string().min(1).max(200),
  size: z.number().int().nonnegative(),
})
export type StoredPart = z.infer<typeof StoredPart>

/**
 * One file of an upload, as the server knows it (`GET /api/shares/:id/upload`). `completed` files
 * need nothing more; for the others, `parts` lists what storage already holds (a part whose size is
 * not the expected one is listed too, and must be sent again). Part `n` covers the bytes
 * `[(n - 1) * partSize, min(n * partSize, size))` of the file.
 */
export const UploadFileState = z.object({
  id: FileId,
  size: z.number().int().nonnegative(),
  partSize: z.number().int().nonnegative(),
  partCount: z.number().int().nonnegative().max(MAX_PART_COUNT),
  completed: z.boolean(),
  parts: z.array(StoredPart),
})
export type UploadFileState = z.infer<typeof UploadFileState>

/**
 * The state of a browser upload, owner only. `uploading`: files may still be sent, completed and the
 * share finalized. `finalized`: the link works; nothing is left to do (every file is `completed`).
 * The web app resumes from this answer only.
 */
export const UploadState = z.object({
  id: ShareId,
  status: z.enum(['uploading', 'finalized']),
  files: z.array(UploadFileState),
})
export type UploadState = z.infer<typeof UploadState>

/** The exact number of bytes part `partNumber` of a file holds (the last part may be shorter). */
export function expectedPartSize(file: { size: number; partSize: number }, partNumber: number): number {
  const start = (partNumber - 1) * file.partSize
  return Math.max(0, Math.min(file.partSize, file.size - start))
}

export const CompleteFileRequest = z.object({
  parts: z
    .array(z.object({ partNumber: z.number().int().min(1).max(MAX_PART_COUNT), etag: z.string().min(1).max(200) }))
    .max(MAX_PART_COUNT),
})

export interface ShareFile {
  id: string
  name: string
  size: number
  type: string
  downloadsLeft: number | null
}

export interface ShareMetadata {
  id: string
  passwordRequired: boolean
  /** End-to-end encrypted: file names are placeholders, sizes are encrypted sizes, `metadata` is the envelope. */
  encrypted?: boolean
  metadata?: string
  expiresAt: string
  files?: ShareFile[]
  downloadsLeft?: number | null
  maxDownloads?: number | null
  createdAt?: string
}

export interface UploadResponse {
  id: string
  url: string
  downloadUrl: string
  ownerToken?: string
  expiresAt: string
  maxDownloads: number | null
}

/** Lease tokens of limited shares: `<lease id>.<secret>`, both 128-bit base64url. */
export const LeaseToken = z.string().regex(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}$/, 'not a download lease')

/**
 * `lease`: on a share with a download limit, the lease a previous answer gave, so every file of the
 * share is fetched under one download (also accepted as the `X-Download-Lease` header).
 */
/** The query of a limited share's file URL (`/api/shares/:id/files/:fileId/content?lease=…`). */
export const LeaseQuery = z.object({ lease: z.string().max(100) })

export const DownloadRequest = z.object({ password: password.optional(), lease: z.string().max(100).optional() })
export interface DownloadResponse {
  url: string
  /** until when `url` may be started: the presigned URL's expiry, or the lease's */
  expiresAt: string
  /**
   * Only on shares with a download limit: the lease that holds one of the remaining downloads for
   * this recipient. Send it back (`lease`) to fetch the share's other files under the same download.
   * Extended while bytes flow; if it lapses before a file was completely sent, the download is free again.
   */
  lease?: { token: string; expiresAt: string }
}

/** Public settings the web app needs (`GET /api/config`). */
export interface PublicConfig {
  version: string
  auth: { google: boolean }
  anonymousUploads: boolean
  limits: {
    anonymous: UserLimits
    user: UserLimits
  }
  defaults: { expiresIn: number; maxDownloads: number | null }
  /** The "End-to-end encryption" option: on by default, and whether plain uploads are refused. */
  encryption: { default: boolean; required: boolean }
  expiryChoices: number[]
  storage: 'disk' | 's3'
}

export interface UserLimits {
  maxFileSize: number
  maxExpiry: number
  dailyQuota: number
}
