import { z } from 'zod'
import { ShareId } from './shares'

/** Accounts, sessions and "My shares": the schemas both the backend and the web app use. */

export const Role = z.enum(['user', 'admin'])
export type Role = z.infer<typeof Role>

export const UserId = z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, 'not a user id')

/** `GET /api/me` */
export const Me = z
  .object({
    id: UserId,
    email: z.string(),
    name: z.string(),
    avatarUrl: z.string().nullable(),
    role: Role,
  })
  .meta({ id: 'Me' })
export type Me = z.infer<typeof Me>

/** `GET /api/auth/google?returnTo=/path` — returnTo is sanitised on the server (same-origin paths only). */
export const SignInQuery = z.object({
  returnTo: z.string().max(2048).optional(),
})

/** `GET /api/auth/bootstrap?token=…` — the one-time admin link printed at startup. */
export const BootstrapQuery = z.object({
  token: z.string().regex(/^[A-Za-z0-9_-]{32,128}$/, 'not a sign-in token'),
})

const isoTime = z.string().meta({ format: 'date-time' })

/** One row of "My shares" (`GET /api/me/shares`). */
export const MyShare = z
  .object({
    id: ShareId,
    /** the share page (`/s/:id`) */
    url: z.string(),
    /** file names in upload order (empty when encrypted: the server does not know them) */
    names: z.array(z.string()),
    fileCount: z.number().int(),
    encrypted: z.boolean(),
    size: z.number().int(),
    downloads: z.number().int(),
    maxDownloads: z.number().int().nullable(),
    passwordProtected: z.boolean(),
    /** exhausted: every file reached maxDownloads; expired/exhausted shares are removed by the janitor */
    status: z.enum(['uploading', 'ready', 'expired', 'exhausted']),
    expiresAt: isoTime,
    createdAt: isoTime,
    /** upload: bytes in storage; library: a file or folder of the server's library, linked in place */
    source: z.enum(['upload', 'library']),
    /** served directly by the owner's page too while it is open; `cloudCopy: false`: no cloud copy at all */
    direct: z.boolean().optional(),
    cloudCopy: z.boolean().optional(),
  })
  .meta({ id: 'MyShare' })
export type MyShare = z.infer<typeof MyShare>

export const MySharesResponse = z.object({ shares: z.array(MyShare) }).meta({ id: 'MySharesResponse' })
export type MySharesResponse = z.infer<typeof MySharesResponse>

const seconds = z.number().int().positive().max(10 * 365 * 24 * 3600)

/** `PATCH /api/me/shares/:id`: a new expiry, absolute or relative to now (exactly one). */
export const UpdateMyShareRequest = z
  .object({
    expiresAt: z.iso.datetime({ offset: true }).optional(),
    expiresIn: seconds.optional(),
  })
  .refine((v) => (v.expiresAt === undefined) !== (v.expiresIn === undefined), {
    message: 'give either expiresAt or expiresIn',
  })
export type UpdateMyShareRequest = z.infer<typeof UpdateMyShareRequest>

/** `POST /api/me/shares/claim`: shares this browser created before signing in (owner tokens kept locally). */
export const ClaimSharesRequest = z.object({
  shares: z
    .array(z.object({ id: ShareId, ownerToken: z.string().min(16).max(256) }))
    .min(1)
    .max(200),
})
export type ClaimSharesRequest = z.infer<typeof ClaimSharesRequest>

export const ClaimSharesResponse = z
  .object({
    /** ids now owned by the signed-in user; the others were unknown, gone, owned or had a wrong token */
    claimed: z.array(ShareId),
  })
  .meta({ id: 'ClaimSharesResponse' })
export type ClaimSharesResponse = z.infer<typeof ClaimSharesResponse>

/** `PATCH /api/admin/users/:id/role` */
export const SetRoleRequest = z.object({ role: Role })
export type SetRoleRequest = z.infer<typeof SetRoleRequest>
