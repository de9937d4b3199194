import type { Queryable } from './db'

export interface SettingsRow {
  data: unknown
  updated_at: Date
  updated_by: string | null
}

/** The one row of run-time settings (see 004_admin.sql). */
export const settingsRepo = {
  async get(q: Queryable): Promise<SettingsRow | null> {
    const rows = await q.query<SettingsRow>(`SELECT data, updated_at, updated_by FROM settings WHERE id = 1`)
    return rows[0] ?? null
  },

  async save(q: Queryable, data: unknown, updatedBy: string): Promise<SettingsRow> {
    const rows = await q.query<SettingsRow>(
      `INSERT INTO settings (id, data, updated_at, updated_by) VALUES (1, $1::jsonb, now(), $2)
       ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data, updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by
       RETURNING data, updated_at, updated_by`,
      [JSON.stringify(data), updatedBy],
    )
    return rows[0]!
  },
}
