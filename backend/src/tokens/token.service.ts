import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { MAX_TOKENS_PER_USER, type ApiToken, type CreatedToken, type CreateTokenRequest } from '@sharesync/protocol'
import type { TokenScope } from '@sharesync/protocol/api'
import type { Deps } from '../deps'
import { auditRepo } from '../db/audit.repo'
import { tokensRepo, type TokenRow } from '../db/tokens.repo'
import { AppError } from '../http/app-error'
import type { SessionUser } from '../http/viewer'
import { userOfSession } from '../auth/session.middleware'

/** `sst_` + 16 characters of id + `_` + 43 characters of secret (32 random bytes, base64url). */
const TOKEN_FORMAT = /^sst_([A-Za-z0-9_-]{16})_([A-Za-z0-9_-]{43})$/

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex')

function toApiToken(row: TokenRow): ApiToken {
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes,
    prefix: `sst_${row.id}`,
    createdAt: new Date(row.created_at).toISOString(),
    expiresAt: row.expires_at ? new Date(row.expires_at).toISOString() : null,
    lastUsedAt: row.last_used_at ? new Date(row.last_used_at).toISOString() : null,
  }
}

/** Who a valid bearer token speaks for, and what it may do. */
export interface TokenViewer {
  user: SessionUser
  token: { id: string; scopes: readonly TokenScope[] }
}

/**
 * Personal API tokens: made and revoked by their owner (audited), checked on every bearer request.
 * The secret is random (256 bits), so a plain SHA-256 is enough to store it: nothing to brute-force.
 */
export class TokenService {
  constructor(private readonly deps: Pick<Deps, 'db' | 'events'>) {}

  async list(user: SessionUser): Promise<ApiToken[]> {
    return (await tokensRepo.listLive(this.deps.db, user.id)).map(toApiToken)
  }

  async create(user: SessionUser, req: CreateTokenRequest): Promise<CreatedToken> {
    // Tokens never carry more than their owner has: only an administrator may ask for `admin`.
    if (req.scopes.includes('admin') && user.role !== 'admin') throw new AppError('forbidden', 'Only an administrator can make a token with the admin scope.')
    const id = randomBytes(12).toString('base64url')
    const secret = randomBytes(32).toString('base64url')
    const expiresAt = req.expiresInDays === null ? null : new Date(Date.now() + req.expiresInDays * 86_400_000)
    const { row, entry } = await this.deps.db.tx(async (q) => {
      if (!(await tokensRepo.lockUser(q, user.id))) throw new AppError('unauthorized', 'Sign in to do this.')
      if ((await tokensRepo.countLive(q, user.id)) >= MAX_TOKENS_PER_USER) {
        throw new AppError('token_limit_reached', `You already have ${MAX_TOKENS_PER_USER} API tokens: revoke one first.`)
      }
      const row = await tokensRepo.insert(q, { id, userId: user.id, name: req.name, scopes: req.scopes, secretHash: sha256(secret), expiresAt })
      const entry = await auditRepo.append(q, {
        actorId: user.id,
        actorEmail: user.email,
        action: 'token.create',
        targetType: 'token',
        targetId: id,
        details: { name: req.name, scopes: req.scopes, expiresAt: expiresAt?.toISOString() ?? null },
      })
      return { row, entry }
    })
    this.deps.events.emit('auditLogged', { entry })
    return { ...toApiToken(row), token: `sst_${id}_${secret}` }
  }

  async revoke(user: SessionUser, id: string): Promise<void> {
    const entry = await this.deps.db.tx(async (q) => {
      const row = await tokensRepo.revoke(q, user.id, id)
      // Someone else's token and an unknown one answer the same.
      if (!row) throw new AppError('not_found', 'No such API token.')
      return auditRepo.append(q, {
        actorId: user.id,
        actorEmail: user.email,
        action: 'token.revoke',
        targetType: 'token',
        targetId: id,
        details: { name: row.name, scopes: row.scopes },
      })
    })
    this.deps.events.emit('auditLogged', { entry })
    this.deps.events.emit('tokenRevoked', { tokenId: id })
  }

  /** The user and scopes of a bearer token, or 401 token_invalid (malformed, unknown, revoked, expired, disabled user). */
  async authenticate(bearer: string): Promise<TokenViewer> {
    const invalid = () => new AppError('token_invalid', 'This API token is not valid (revoked, expired or mistyped).')
    const m = TOKEN_FORMAT.exec(bearer)
    if (!m) throw invalid()
    const row = await tokensRepo.findLive(this.deps.db, m[1]!)
    if (!row) throw invalid()
    const expected = Buffer.from(row.secret_hash, 'hex')
    const given = Buffer.from(sha256(m[2]!), 'hex')
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw invalid()
    const user = await userOfSession(this.deps, row.user_id)
    if (!user) throw invalid()
    await tokensRepo.touch(this.deps.db, row.id)
    return { user, token: { id: row.id, scopes: row.scopes } }
  }
}
