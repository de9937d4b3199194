import { z } from 'zod'
import { FolderPath } from './paths'

/** Limits of the protocol itself (not of a deployment: those come from /api/config). */
export const MAX_FILES_PER_SHARE = 100
export const MAX_FILE_NAME_LENGTH = 10_000
export const MIN_PART_SIZE = 5 * 1024 * 1024
export const MAX_PART_COUNT = 10_000
export const MAX_PASSWORD_LENGTH = 256
/** The sender's note to recipients: plain text with a little Markdown (rendered without HTML). */
export const MAX_NOTE_LENGTH = 5000

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
  /** Recipients may preview images, video, audio, PDF and text on the share page (default true). */
  previews: z.boolean().optional(),
})
export type ShareOptions = z.infer<typeof ShareOptions>

/** Options given as strings (multipart form fields or query parameters of curl uploads). */
export const ShareOptionsFromStrings = z.object({
  expiresIn: z.coerce.number().pipe(seconds).optional(),
  maxDownloads: z.coerce.number().pipe(downloads).optional(),
  password: password.optional(),
  previews: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
  note: z.string().max(MAX_NOTE_LENGTH).optional(),
})

/** A note as a sender gives it: at most MAX_NOTE_LENGTH characters. */
export const Note = z.string().max(MAX_NOTE_LENGTH, `note: at most ${MAX_NOTE_LENGTH} characters`)

export const FileDeclaration = z.object({
  name: z.string().min(1).max(MAX_FILE_NAME_LENGTH),
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  type: z.string().max(255).optional().default('application/octet-stream'),
  /** the folder the file sat in, relative to what was picked or dropped (paths.ts) */
  path: FolderPath.optional(),
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

/**
 * One link, two paths (links.ts): `direct` — the owner's page may serve this link straight while it
 * is open (the share is visible to recipients from its creation); `cloudCopy: false` (only with
 * `direct: true`) — no file bytes are ever uploaded: no quota is charged, no parts accepted.
 */
const directFields = {
  direct: z.boolean().optional(),
  cloudCopy: z.boolean().optional(),
}

const PlainShareRequest = ShareOptions.extend({
  ...directFields,
  encrypted: z.literal(false).optional(),
  note: Note.optional(),
  metadata: z.never({ error: 'is only for end-to-end encrypted shares (encrypted: true)' }).optional(),
  files: z.array(FileDeclaration).min(1).max(MAX_FILES_PER_SHARE),
})

const EncryptedShareRequest = ShareOptions.extend({
  ...directFields,
  encrypted: z.literal(true),
  metadata: EncryptedMetadata,
  files: z.array(EncryptedFileDeclaration).min(1).max(MAX_FILES_PER_SHARE),
}).strict()

export const CreateShareRequest = z.discriminatedUnion('encrypted', [PlainShareRequest, EncryptedShareRequest]).refine((r) => r.cloudCopy !== false || r.direct === true, {
  message: 'cloudCopy: false needs direct: true (without a cloud copy, the link is served only by the sender\'s page)',
  path: ['cloudCopy'],
})
export type CreateShareRequest = z.infer<typeof CreateShareRequest>

const isoTime = z.string().meta({ format: 'date-time' })

export const CreateShareResponse = z
  .object({
    id: ShareId,
    /** the share page (`/s/:id`) */
    url: z.string(),
    /** proves ownership to the later steps (`X-Owner-Token`); absent when the owner is signed in */
    ownerToken: z.string().optional(),
    expiresAt: isoTime,
    maxDownloads: z.number().int().nullable(),
    files: z.array(z.object({ id: FileId, name: z.string(), partSize: z.number().int(), partCount: z.number().int() })),
    /** as asked: served directly by the owner's page (`link:host`), and whether a cloud copy is uploaded */
    direct: z.boolean().optional(),
    cloudCopy: z.boolean().optional(),
  })
  .meta({ id: 'CreateShareResponse' })
export type CreateShareResponse = z.infer<typeof CreateShareResponse>

export const SignPartsRequest = z.object({
  partNumbers: z.array(z.number().int().min(1).max(MAX_PART_COUNT)).min(1).max(1000),
})
export const SignPartsResponse = z
  .object({ parts: z.array(z.object({ partNumber: z.number().int(), url: z.string() })), expiresAt: isoTime })
  .meta({ id: 'SignPartsResponse' })
export type SignPartsResponse = z.infer<typeof SignPartsResponse>

/** A part storage holds for a file that is still uploading. */
export const StoredPart = z.object({
  partNumber: z.number().int().min(1).max(MAX_PART_COUNT),
  etag: z.string().min(1).max(200),
  size: z.number().int().nonnegative(),
})
export type StoredPart = z.infer<typeof StoredPart>

export const ListPartsResponse = z.object({ parts: z.array(StoredPart) }).meta({ id: 'ListPartsResponse' })
export type ListPartsResponse = z.infer<typeof ListPartsResponse>

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
/**
 * What became of a finalized share, for its owner: downloads so far and when the last happened.
 * `usedUp`: its download limit was reached (a download of a share is the whole share) — the link is
 * closed for recipients, and the owner is told so rather than "this link is no longer available".
 */
export const ShareDelivery = z
  .object({
    downloads: z.number().int().min(0),
    maxDownloads: z.number().int().min(1).nullable(),
    lastDownloadAt: z.string().nullable(),
    usedUp: z.boolean(),
    expiresAt: z.string(),
  })
  .meta({ id: 'ShareDelivery' })
export type ShareDelivery = z.infer<typeof ShareDelivery>

export const UploadState = z
  .object({
    id: ShareId,
    status: z.enum(['uploading', 'finalized']),
    files: z.array(UploadFileState),
    /** once finalized */
    delivery: ShareDelivery.optional(),
  })
  .meta({ id: 'UploadState' })
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

/** `POST .../complete` */
export const CompleteFileResponse = z.object({ size: z.number().int().nonnegative() }).meta({ id: 'CompleteFileResponse' })
export type CompleteFileResponse = z.infer<typeof CompleteFileResponse>

export const ShareFile = z
  .object({
    id: FileId,
    name: z.string(),
    /** the folder the file is in, inside the share ('' or absent: at the top) */
    path: z.string().optional(),
    size: z.number().int().nonnegative(),
    type: z.string(),
    downloadsLeft: z.number().int().nullable(),
  })
  .meta({ id: 'ShareFile' })
export type ShareFile = z.infer<typeof ShareFile>

/**
 * A `direct` share's two paths, as recipients see them (`GET /api/shares/:id`): `cloud` — no copy
 * (`cloudCopy: false`), being uploaded, or ready to download; `online` — a host is seated now (best effort).
 */
export const DirectState = z
  .object({
    cloud: z.enum(['none', 'uploading', 'ready']),
    online: z.boolean(),
  })
  .meta({ id: 'DirectState' })
export type DirectState = z.infer<typeof DirectState>

export const ShareMetadata = z
  .object({
    id: ShareId,
    passwordRequired: z.boolean(),
    /** End-to-end encrypted: file names are placeholders, sizes are encrypted sizes, `metadata` is the envelope. */
    encrypted: z.boolean().optional(),
    metadata: z.string().optional(),
    /** `files` (the default) or `text`: a text-only share, revealed with `POST /api/shares/:id/text` */
    kind: z.enum(['files', 'text']).optional(),
    /** the sender's note (plain shares; an encrypted share's note is inside `metadata`) */
    note: z.string().optional(),
    /** whether recipients may preview files here (the owner's choice and the admin's switch) */
    previews: z.boolean().optional(),
    expiresAt: isoTime,
    files: z.array(ShareFile).optional(),
    downloadsLeft: z.number().int().nullable().optional(),
    maxDownloads: z.number().int().nullable().optional(),
    createdAt: isoTime.optional(),
    /** a link served directly by its sender's page too (links.ts): its cloud copy's state and whether a host is online */
    direct: DirectState.optional(),
  })
  .meta({ id: 'ShareMetadata' })
export type ShareMetadata = z.infer<typeof ShareMetadata>

export const UploadResponse = z
  .object({
    id: ShareId,
    /** the share page (`/s/:id`) */
    url: z.string(),
    /** the file itself (single-file shares), for curl */
    downloadUrl: z.string(),
    ownerToken: z.string().optional(),
    expiresAt: isoTime,
    maxDownloads: z.number().int().nullable(),
  })
  .meta({ id: 'UploadResponse' })
export type UploadResponse = z.infer<typeof UploadResponse>

/** Lease tokens of limited shares: `<lease id>.<secret>`, both 128-bit base64url. */
export const LeaseToken = z.string().regex(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}$/, 'not a download lease')

/**
 * `lease`: on a share with a download limit, the lease a previous answer gave, so every file of the
 * share is fetched under one download (also accepted as the `X-Download-Lease` header).
 */
/** The query of a limited share's file URL (`/api/shares/:id/files/:fileId/content?lease=…`). */
export const LeaseQuery = z.object({ lease: z.string().max(100) })

/**
 * The query of a share's file URL that the app streams itself: a lease (limited shares), or, for an
 * unlimited `direct` share (whose cloud downloads the app streams so its sender gets receipts), the
 * app's signature and its expiry (Unix seconds).
 */
export const FileContentQuery = z.union([
  LeaseQuery,
  z.object({ exp: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER), sig: z.string().max(128) }).strict(),
])

export const DownloadRequest = z.object({ password: password.optional(), lease: z.string().max(100).optional() })
export const DownloadResponse = z
  .object({
    url: z.string(),
    /** until when `url` may be started: the presigned URL's expiry, or the lease's */
    expiresAt: isoTime,
    /**
     * Only on shares with a download limit: the lease that holds one of the remaining downloads for
     * this recipient. Send it back (`lease`) to fetch the share's other files under the same download.
     * Extended while bytes flow; if it lapses before a file was completely sent, the download is free again.
     */
    lease: z.object({ token: z.string(), expiresAt: isoTime }).optional(),
  })
  .meta({ id: 'DownloadResponse' })
export type DownloadResponse = z.infer<typeof DownloadResponse>

export const UserLimits = z.object({
  maxFileSize: z.number().int(),
  maxExpiry: z.number().int(),
  dailyQuota: z.number().int(),
})
export type UserLimits = z.infer<typeof UserLimits>

export const AudienceRulesView = z.object({
  passwordRequired: z.boolean(),
  encryptionRequired: z.boolean(),
  expiryPresets: z.array(z.number().int()).nullable(),
  downloadPresets: z.array(z.number().int()).nullable(),
  unlimitedDownloads: z.boolean(),
})
export type AudienceRulesView = z.infer<typeof AudienceRulesView>

/** Public settings the web app needs (`GET /api/config`). */
export const PublicConfig = z
  .object({
    version: z.string(),
    auth: z.object({
      google: z.boolean(),
      /** OpenID Connect providers: sign in at `/api/auth/oidc/<id>` */
      providers: z.array(z.object({ id: z.string(), name: z.string(), button: z.string() })),
    }),
    anonymousUploads: z.boolean(),
    limits: z.object({ anonymous: UserLimits, user: UserLimits }),
    defaults: z.object({ expiresIn: z.number().int(), maxDownloads: z.number().int().nullable() }),
    /** The "End-to-end encryption" option: on by default, and whether plain uploads are refused. */
    encryption: z.object({ default: z.boolean(), required: z.boolean() }),
    expiryChoices: z.array(z.number().int()),
    storage: z.enum(['disk', 's3']),
    /** Recipients may preview files on share pages (the admin's switch; owners choose per share). */
    previews: z.boolean(),
    /** Links made without signing in must have a password (the admin's policy). */
    passwordRequired: z.object({ anonymous: z.boolean() }),
    /** What new links must be, per audience (the admin's share rules): the upload options offer only these. */
    shareRules: z.object({ anonymous: AudienceRulesView, user: AudienceRulesView, admin: AudienceRulesView }),
  })
  .meta({ id: 'PublicConfig' })
export type PublicConfig = z.infer<typeof PublicConfig>
