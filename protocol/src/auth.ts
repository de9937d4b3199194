import { z } from 'zod'
import { ShareId } from './shares'

/** Accounts, sessions and "My shares": the schemas both the backend and the web app use. */

export type Role = 'user' | 'admin'

/** `GET /api/me` */
export interface Me {
  id: string
  email: string
  name: string
  avatarUrl: string | null
  role: Role
}

export const UserId = z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, 'not a user id')

/** `GET /api/auth/google?returnTo=/path` — returnTo is sanitised on the server (same-origin paths only). */
export const SignInQuery = z.object({
  returnTo: z.string().max(2048).optional(),
})

/** `GET /api/auth/bootstrap?token=…` — the one-time admin link printed at startup. */
export const BootstrapQuery = z.object({
  token: z.string().regex(/^[A-Za-z0-9_-]{32,128}$/, 'not a sign-in token'),
})

/** One row of "My shares" (`GET /api/me/shares`). */
export interface MyShare {
  id: string
  /** the share page (`/s/:id`) */
  url: string
  /** file names in upload order (empty when encrypted: the server does not know them) */
  names: string[]
  fileCount: number
  encrypted: boolean
  size: number
  downloads: number
  maxDownloads: number | null
  passwordProtected: boolean
  /** exhausted: every file reached maxDownloads; expired/exhausted shares are removed by the janitor */
  status: 'uploading' | 'ready' | 'expired' | 'exhausted'
  expiresAt: string
  createdAt: string
  /** upload: bytes in storage; library: a file or folder of the server's library, linked in place */
  source: 'upload' | 'library'
}

export interface MySharesResponse {
  shares: MyShare[]
}

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

export interface ClaimSharesResponse {
  /** ids now owned by the signed-in user; the others were unknown, gone, owned or had a wrong token */
  claimed: string[]
}

/** `PATCH /api/admin/users/:id/role` */
export const SetRoleRequest = z.object({ role: z.enum(['user', 'admin']) })
export type SetRoleRequest = z.infer<typeof SetRoleRequest>
