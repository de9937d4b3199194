import { z } from 'zod'
import { FileDeclaration, MAX_FILES_PER_SHARE, MAX_PASSWORD_LENGTH, Note, ShareId, ShareOptions } from './shares'

/**
 * File requests (reverse shares): a signed-in person makes a request link; anyone with it uploads
 * into it (with the same resumable upload as a share), within the request's limits. What arrives
 * is kept for the requester only, who can turn it into a share.
 */

export const MAX_REQUEST_TITLE_LENGTH = 200
export const MAX_REQUEST_MESSAGE_LENGTH = 2000
export const MAX_REQUEST_TYPES = 20
/** Uses: how many uploads a request accepts (one upload is one person sending one or more files). */
export const MAX_REQUEST_USES = 10_000

export const RequestId = ShareId

/**
 * An allowed type: a file extension (`.pdf`), a media type (`application/pdf`) or a family
 * (`image/*`). Compared case-insensitively with the file's name and declared type.
 */
export const AllowedType = z
  .string()
  .trim()
  .toLowerCase()
  .regex(
    /^(\.[a-z0-9][a-z0-9._+-]{0,19}|[a-z0-9][a-z0-9.+-]{0,62}\/(\*|[a-z0-9][a-z0-9.+-]{0,126}))$/,
    'allowedTypes: each is an extension (.pdf), a media type (application/pdf) or a family (image/*)',
  )

const title = z
  .string()
  .trim()
  .min(1, 'title: give the request a title')
  .max(MAX_REQUEST_TITLE_LENGTH, `title: at most ${MAX_REQUEST_TITLE_LENGTH} characters`)
const password = z.string().min(1).max(MAX_PASSWORD_LENGTH)

export const CreateFileRequest = z
  .object({
    title,
    message: z.string().max(MAX_REQUEST_MESSAGE_LENGTH, `message: at most ${MAX_REQUEST_MESSAGE_LENGTH} characters`).optional(),
    /** the most bytes all uploads together may hold; absent: the requester's file size limit per file only */
    maxBytes: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).nullish(),
    /** the most files all uploads together may hold */
    maxFiles: z
      .number()
      .int()
      .min(1)
      .max(MAX_FILES_PER_SHARE * 100)
      .nullish(),
    /** how many uploads the link accepts */
    maxUses: z.number().int().min(1).max(MAX_REQUEST_USES).nullish(),
    /** empty or absent: any type */
    allowedTypes: z.array(AllowedType).max(MAX_REQUEST_TYPES).optional(),
    /** seconds until the link stops accepting uploads (at most the requester's longest link expiry) */
    expiresIn: z
      .number()
      .int()
      .positive()
      .max(10 * 365 * 24 * 3600)
      .optional(),
    password: password.nullish(),
  })
  .strict()
export type CreateFileRequest = z.infer<typeof CreateFileRequest>

const isoTime = z.string().meta({ format: 'date-time' })

export const ReceivedFile = z.object({ name: z.string(), path: z.string(), size: z.number().int(), type: z.string() })
export type ReceivedFile = z.infer<typeof ReceivedFile>

/** One upload into a request: one person's files, sent together. */
export const ReceivedUpload = z
  .object({
    id: ShareId,
    /** uploading: still arriving; received: complete */
    status: z.enum(['uploading', 'received']),
    files: z.array(ReceivedFile),
    totalSize: z.number().int(),
    createdAt: isoTime,
    receivedAt: isoTime.nullable(),
  })
  .meta({ id: 'ReceivedUpload' })
export type ReceivedUpload = z.infer<typeof ReceivedUpload>

/** A request as its requester sees it. */
export const FileRequestView = z
  .object({
    id: RequestId,
    /** the page people upload on (`/request/:id`) */
    url: z.string(),
    title: z.string(),
    message: z.string().nullable(),
    maxBytes: z.number().int().nullable(),
    maxFiles: z.number().int().nullable(),
    maxUses: z.number().int().nullable(),
    allowedTypes: z.array(z.string()),
    passwordProtected: z.boolean(),
    expiresAt: isoTime,
    usedBytes: z.number().int(),
    usedFiles: z.number().int(),
    uses: z.number().int(),
    /** open: accepts uploads; expired, used up (uses or bytes or files) or closed by its requester */
    status: z.enum(['open', 'expired', 'used_up', 'closed']),
    createdAt: isoTime,
    uploads: z.array(ReceivedUpload),
  })
  .meta({ id: 'FileRequestView' })
export type FileRequestView = z.infer<typeof FileRequestView>

export const FileRequestList = z.object({ requests: z.array(FileRequestView) }).meta({ id: 'FileRequestList' })
export type FileRequestList = z.infer<typeof FileRequestList>

/** A request as the people asked to upload see it (nothing but the title when a password is needed and not given). */
export const PublicFileRequest = z
  .object({
    id: RequestId,
    title: z.string(),
    passwordRequired: z.boolean(),
    /** the requester's name, as their account shows it */
    requester: z.string().nullable().optional(),
    message: z.string().nullable().optional(),
    allowedTypes: z.array(z.string()).optional(),
    /** bytes, files and uploads still accepted (null: no such limit) */
    bytesLeft: z.number().int().nullable().optional(),
    filesLeft: z.number().int().nullable().optional(),
    usesLeft: z.number().int().nullable().optional(),
    /** the largest single file accepted */
    maxFileSize: z.number().int().optional(),
    expiresAt: isoTime.optional(),
  })
  .meta({ id: 'PublicFileRequest' })
export type PublicFileRequest = z.infer<typeof PublicFileRequest>

/** Starts an upload into a request; the answer is a share upload's (parts, complete, finalize as for shares). */
export const CreateRequestUpload = z
  .object({
    files: z.array(FileDeclaration).min(1).max(MAX_FILES_PER_SHARE),
    password: z
      .string()
      .max(MAX_PASSWORD_LENGTH * 4)
      .optional(),
  })
  .strict()
export type CreateRequestUpload = z.infer<typeof CreateRequestUpload>

/** Whether a file (its name and declared type) is one of the allowed types; no allowed types: any. */
export function typeAllowed(allowed: readonly string[], file: { name: string; type?: string }): boolean {
  if (allowed.length === 0) return true
  const name = file.name.toLowerCase()
  const type = (file.type ?? '').toLowerCase().split(';')[0]!.trim()
  return allowed.some((a) => (a.startsWith('.') ? name.endsWith(a) : a.endsWith('/*') ? type.startsWith(a.slice(0, -1)) : type === a))
}

/** Turns a received upload into a share of the requester's: the options of a new link. */
export const ReceivedToShare = ShareOptions.extend({ note: Note.optional() }).strict()
export type ReceivedToShare = z.infer<typeof ReceivedToShare>
