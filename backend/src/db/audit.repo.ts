import type { AuditAction, AuditEntry } from '@sharesync/protocol'
import type { Queryable } from './db'

export interface NewAuditEntry {
  actorId: string
  actorEmail: string
  action: AuditAction
  targetType: AuditEntry['targetType']
  targetId: string | null
  details?: Record<string, unknown>
}

interface AuditRow {
  id: number
  at: Date
  actor_user_id: string | null
  actor_email: string
  action: AuditAction
  target_type: AuditEntry['targetType']
  target_id: string | null
  details: Record<string, unknown> | string
}

const toEntry = (r: AuditRow): AuditEntry => ({
  id: r.id,
  at: new Date(r.at).toISOString(),
  actorId: r.actor_user_id,
  actorEmail: r.actor_email,
  action: r.action,
  targetType: r.target_type,
  targetId: r.target_id,
  details: typeof r.details === 'string' ? (JSON.parse(r.details) as Record<string, unknown>) : r.details,
})

/** The admin audit log: append-only, newest first. */
export const auditRepo = {
  async append(q: Queryable, e: NewAuditEntry): Promise<AuditEntry> {
    const rows = await q.query<AuditRow>(
      `INSERT INTO audit_log (actor_user_id, actor_email, action, target_type, target_id, details)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb) RETURNING *`,
      [e.actorId, e.actorEmail, e.action, e.targetType, e.targetId, JSON.stringify(e.details ?? {})],
    )
    return toEntry(rows[0]!)
  },

  async list(q: Queryable, limit: number, offset: number): Promise<{ items: AuditEntry[]; total: number }> {
    const rows = await q.query<AuditRow>(`SELECT * FROM audit_log ORDER BY at DESC, id DESC LIMIT $1 OFFSET $2`, [limit, offset])
    const [count] = await q.query<{ n: number }>(`SELECT count(*)::int8 AS n FROM audit_log`)
    return { items: rows.map(toEntry), total: count?.n ?? 0 }
  },
}
