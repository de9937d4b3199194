import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Db } from './db'

/**
 * Applies migrations/*.sql in name order, once each, under an advisory lock so that several
 * instances starting together do not race. In the bundled build the folder sits next to main.js.
 */
export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url))
const LOCK_ID = 727_274_001

export async function migrate(db: Db, dir = MIGRATIONS_DIR): Promise<string[]> {
  const files = readdirSync(dir).filter((f) => f.endsWith('.sql')).sort()
  return db.tx(async (q) => {
    await q.query('SELECT pg_advisory_xact_lock($1)', [LOCK_ID])
    await q.query('CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())')
    const done = new Set((await q.query<{ name: string }>('SELECT name FROM schema_migrations')).map((r) => r.name))
    const applied: string[] = []
    for (const file of files) {
      if (done.has(file)) continue
      // Each migration is a list of statements separated by lines ending in ';'.
      const sql = readFileSync(`${dir}/${file}`, 'utf8')
      for (const statement of splitStatements(sql)) await q.query(statement)
      await q.query('INSERT INTO schema_migrations (name) VALUES ($1)', [file])
      applied.push(file)
    }
    return applied
  })
}

export function splitStatements(sql: string): string[] {
  return sql
    .replace(/^\s*--.*$/gm, '')
    .split(/;\s*$/m)
    .map((s) => s.trim())
    .filter(Boolean)
}
