import type { Queryable } from './db'

export interface UserRow {
  id: string
  email: string
  name: string
  avatar_url: string | null
  google_sub: string | null
  role: 'user' | 'admin'
  disabled_at: Date | null
  created_at: Date
  last_login_at: Date | null
}

export interface GoogleIdentity {
  googleSub: string
  email: string
  name: string
  avatarUrl: string | null
}

export const usersRepo = {
  async findById(q: Queryable, id: string): Promise<UserRow | null> {
    const rows = await q.query<UserRow>(`SELECT * FROM users WHERE id = $1`, [id])
    return rows[0] ?? null
  },

  /**
   * Finds the user of a Google account by its stable `sub` only, creating it on first sign-in, and
   * refreshes e-mail, name, avatar and the last sign-in time. An e-mail that another account already
   * has is never a reason to link: the insert (or the e-mail update) then fails on the unique
   * e-mail and the caller refuses the sign-in. `promote` turns the user into an admin
   * (ADMIN_EMAILS); it never demotes, so a role given by another admin survives the next sign-in.
   */
  async upsertGoogleUser(q: Queryable, newId: string, g: GoogleIdentity, promote: boolean): Promise<UserRow> {
    const rows = await q.query<UserRow>(
      `WITH existing AS (
         SELECT id FROM users WHERE google_sub = $2
       ), updated AS (
         UPDATE users u SET email = $3, name = $4, avatar_url = $5, last_login_at = now(),
           role = CASE WHEN $6 THEN 'admin' ELSE u.role END
         FROM existing e WHERE u.id = e.id
         RETURNING u.*
       ), inserted AS (
         INSERT INTO users (id, email, name, avatar_url, google_sub, role, last_login_at)
         SELECT $1, $3, $4, $5, $2, CASE WHEN $6 THEN 'admin' ELSE 'user' END, now()
         WHERE NOT EXISTS (SELECT 1 FROM existing)
         RETURNING *
       )
       SELECT * FROM updated UNION ALL SELECT * FROM inserted`,
      [newId, g.googleSub, g.email, g.name, g.avatarUrl, promote],
    )
    return rows[0]!
  },

  /** The user an OpenID Connect identity (issuer, subject) is linked to, if any. */
  async findByIdentity(q: Queryable, issuer: string, subject: string): Promise<UserRow | null> {
    const rows = await q.query<UserRow>(
      `SELECT u.* FROM user_identities i JOIN users u ON u.id = i.user_id WHERE i.issuer = $1 AND i.subject = $2`,
      [issuer, subject],
    )
    return rows[0] ?? null
  },

  /** Refreshes a linked user at sign-in; `promote` makes them an admin (never demotes). */
  async refreshSignIn(q: Queryable, id: string, p: { email: string; name: string; avatarUrl: string | null }, promote: boolean): Promise<UserRow> {
    const rows = await q.query<UserRow>(
      `UPDATE users SET email = $2, name = $3, avatar_url = $4, last_login_at = now(), role = CASE WHEN $5 THEN 'admin' ELSE role END
       WHERE id = $1 RETURNING *`,
      [id, p.email, p.name, p.avatarUrl, promote],
    )
    return rows[0]!
  },

  /** A new user for a new OIDC identity, and the link; fails on the unique e-mail when another account has it. */
  async insertWithIdentity(q: Queryable, newId: string, issuer: string, subject: string, p: { email: string; name: string; avatarUrl: string | null }, promote: boolean): Promise<UserRow> {
    const rows = await q.query<UserRow>(
      `INSERT INTO users (id, email, name, avatar_url, role, last_login_at) VALUES ($1, $2, $3, $4, CASE WHEN $5 THEN 'admin' ELSE 'user' END, now()) RETURNING *`,
      [newId, p.email, p.name, p.avatarUrl, promote],
    )
    await q.query(`INSERT INTO user_identities (issuer, subject, user_id) VALUES ($1, $2, $3)`, [issuer, subject, newId])
    return rows[0]!
  },

  /** The local admin of the bootstrap link: created once, re-enabled and re-promoted on each use. */
  async upsertLocalAdmin(q: Queryable, newId: string, email: string): Promise<UserRow> {
    const rows = await q.query<UserRow>(
      `INSERT INTO users (id, email, name, role, last_login_at) VALUES ($1, $2, 'Administrator', 'admin', now())
       ON CONFLICT (email) DO UPDATE SET role = 'admin', disabled_at = NULL, last_login_at = now()
       RETURNING *`,
      [newId, email],
    )
    return rows[0]!
  },

  async countActiveAdmins(q: Queryable): Promise<number> {
    const rows = await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM users WHERE role = 'admin' AND disabled_at IS NULL`)
    return rows[0]?.n ?? 0
  },

  async setRole(q: Queryable, id: string, role: 'user' | 'admin'): Promise<UserRow | null> {
    const rows = await q.query<UserRow>(`UPDATE users SET role = $2 WHERE id = $1 RETURNING *`, [id, role])
    return rows[0] ?? null
  },

  async insertBootstrapToken(q: Queryable, tokenHash: string, expiresAt: Date): Promise<void> {
    await q.query(`INSERT INTO admin_bootstrap_tokens (token_hash, expires_at) VALUES ($1, $2)`, [tokenHash, expiresAt])
  },

  /** Spends a bootstrap token: true exactly once, and only before it expires. */
  async spendBootstrapToken(q: Queryable, tokenHash: string): Promise<boolean> {
    const rows = await q.query(
      `UPDATE admin_bootstrap_tokens SET used_at = now()
       WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()
       RETURNING token_hash`,
      [tokenHash],
    )
    return rows.length === 1
  },

  /** Unused links die when a new one is made or one is spent: only the latest link works. */
  async revokeBootstrapTokens(q: Queryable): Promise<void> {
    await q.query(`DELETE FROM admin_bootstrap_tokens WHERE used_at IS NULL OR expires_at < now()`)
  },
}
