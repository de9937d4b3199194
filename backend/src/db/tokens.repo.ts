import type { TokenScope } from '@sharesync/protocol/api'
import type { Queryable } from './db'

export interface TokenRow {
  id: string
  user_id: string
  name: string
  scopes: TokenScope[]
  secret_hash: string
  created_at: Date
  expires_at: Date | null
  last_used_at: Date | null
  revoked_at: Date | null
}

const LIVE = `revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())`

export const tokensRepo = {
  /** Live tokens of a user, newest first. */
  async listLive(q: Queryable, userId: string): Promise<TokenRow[]> {
    return q.query<TokenRow>(`SELECT * FROM api_tokens WHERE user_id = $1 AND ${LIVE} ORDER BY created_at DESC, id`, [userId])
  },

  /** Holds the user's row until the transaction ends, so two creations count one after the other. */
  async lockUser(q: Queryable, userId: string): Promise<boolean> {
    return (await q.query(`SELECT id FROM users WHERE id = $1 FOR UPDATE`, [userId])).length === 1
  },

  async countLive(q: Queryable, userId: string): Promise<number> {
    const [row] = await q.query<{ n: number }>(`SELECT count(*)::int4 AS n FROM api_tokens WHERE user_id = $1 AND ${LIVE}`, [userId])
    return Number(row?.n ?? 0)
  },

  async insert(q: Queryable, t: { id: string; userId: string; name: string; scopes: TokenScope[]; secretHash: string; expiresAt: Date | null }): Promise<TokenRow> {
    const rows = await q.query<TokenRow>(
      `INSERT INTO api_tokens (id, user_id, name, scopes, secret_hash, expires_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
      [t.id, t.userId, t.name, t.scopes, t.secretHash, t.expiresAt],
    )
    return rows[0]!
  },

  /** A live token by id (the caller compares the secret's hash). */
  async findLive(q: Queryable, id: string): Promise<TokenRow | null> {
    const rows = await q.query<TokenRow>(`SELECT * FROM api_tokens WHERE id = $1 AND ${LIVE}`, [id])
    return rows[0] ?? null
  },

  /** Marks a use, at most once a minute per token (a script's every request would be a write otherwise). */
  async touch(q: Queryable, id: string): Promise<void> {
    await q.query(`UPDATE api_tokens SET last_used_at = now() WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`, [id])
  },

  /** Revokes one of the user's live tokens; null when it is not theirs or not live. */
  async revoke(q: Queryable, userId: string, id: string): Promise<TokenRow | null> {
    const rows = await q.query<TokenRow>(`UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND user_id = $2 AND ${LIVE} RETURNING *`, [id, userId])
    return rows[0] ?? null
  },
}
