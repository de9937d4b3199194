import { z } from 'zod'
import { TOKEN_SCOPES } from './api/route'

/** Personal API tokens: a signed-in user's credentials for scripts, the CLI, ShareX and Flameshot. */

export const TokenScope = z.enum(TOKEN_SCOPES)
export type TokenScope = z.infer<typeof TokenScope>

export const TokenId = z.string().regex(/^[A-Za-z0-9_-]{16}$/, 'not a token id')

/** The most live (not revoked, not expired) tokens one user may hold. */
export const MAX_TOKENS_PER_USER = 50

const isoTime = z.string().meta({ format: 'date-time' })

/** `POST /api/me/tokens` */
export const CreateTokenRequest = z.strictObject({
  /** shown in the list only; printable characters, no line breaks */
  name: z
    .string()
    .trim()
    .min(1)
    .max(80)
    // no control characters (line breaks, escapes, bidi overrides): the name is shown in lists and logs
    .regex(/^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+$/u, 'the name has characters that cannot be shown'),
  scopes: z
    .array(TokenScope)
    .min(1)
    .max(TOKEN_SCOPES.length)
    .refine((s) => new Set(s).size === s.length, 'each scope once'),
  /** days until it stops working; null: until revoked */
  expiresInDays: z.number().int().min(1).max(3650).nullable(),
})
export type CreateTokenRequest = z.infer<typeof CreateTokenRequest>

/** One token as its owner sees it (never its secret after creation). */
export const ApiToken = z
  .object({
    id: TokenId,
    name: z.string(),
    scopes: z.array(TokenScope),
    /** the token's first characters, to recognise it: `sst_<id>` */
    prefix: z.string(),
    createdAt: isoTime,
    expiresAt: isoTime.nullable(),
    lastUsedAt: isoTime.nullable(),
  })
  .meta({ id: 'ApiToken' })
export type ApiToken = z.infer<typeof ApiToken>

/** The answer to creating a token: the secret, shown this once. */
export const CreatedToken = ApiToken.extend({
  /** `Authorization: Bearer <token>`; stored hashed, it cannot be shown again */
  token: z.string(),
}).meta({ id: 'CreatedToken' })
export type CreatedToken = z.infer<typeof CreatedToken>

/** `GET /api/me/tokens`: live tokens, newest first */
export const TokensResponse = z.object({ tokens: z.array(ApiToken) }).meta({ id: 'TokensResponse' })
export type TokensResponse = z.infer<typeof TokensResponse>
