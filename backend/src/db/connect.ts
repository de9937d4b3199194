import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { PGlite } from '@electric-sql/pglite'
import pg from 'pg'
import { guardDependency } from '../http/app-error'
import type { Db, Queryable } from './db'
import { migrate } from './migrate'

export type DatabaseConfig = { kind: 'pglite'; dir: string } | { kind: 'postgres'; url: string }

const INT8 = 20
// Counts and sizes are bigint columns; every value this app stores fits in 2^53.
const toNumber = (v: string) => Number(v)

export async function connectDb(config: DatabaseConfig): Promise<Db> {
  const db = config.kind === 'pglite' ? await openPglite(config.dir) : openPostgres(config.url)
  await migrate(db)
  return db
}

/**
 * Creating a PGlite cluster (initdb) peaks at ~750 MB of WASM memory that V8 gives back only
 * lazily; doing it once in a short-lived child process keeps the server's own footprint small.
 */
function initPgliteCluster(dir: string): void {
  const entry = pathToFileURL(createRequire(import.meta.url).resolve('@electric-sql/pglite')).href
  const script = `const { PGlite } = await import(${JSON.stringify(entry)}); const db = await PGlite.create(${JSON.stringify(dir)}); await db.close()`
  execFileSync(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 120_000 })
}

async function openPglite(dir: string): Promise<Db> {
  if (dir !== 'memory://') {
    mkdirSync(dir, { recursive: true })
    if (!existsSync(join(dir, 'PG_VERSION'))) initPgliteCluster(dir)
  }
  // Postgres' default 128 MB of shared buffers would all become resident WASM memory; the
  // embedded database serves one small instance, so 16 MB keeps the server's footprint small.
  const startParams = [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB', '-c', 'work_mem=2MB']
  const lite = await PGlite.create(dir, { parsers: { [INT8]: toNumber }, startParams })
  const q = (runner: Pick<PGlite, 'query'>): Queryable => ({
    async query<T>(sql: string, params?: unknown[]) {
      return (await runner.query<T>(sql, params)).rows
    },
  })
  return {
    kind: 'pglite',
    ...q(lite),
    tx: (work) => lite.transaction((t) => work(q(t))),
    async ping() {
      await lite.query('SELECT 1')
    },
    close: () => lite.close(),
  }
}

function openPostgres(url: string): Db {
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    connectionTimeoutMillis: 3000,
    idleTimeoutMillis: 30_000,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8 ? toNumber : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  })
  // An idle client losing its connection (server restart) must not crash the process.
  pool.on('error', () => {})
  const guarded = <T>(work: () => Promise<T>) => guardDependency('database_unavailable', work)
  return {
    kind: 'postgres',
    query: <T>(sql: string, params?: unknown[]) =>
      guarded(async () => (await pool.query(sql, params)).rows as T[]),
    tx: <T>(work: (q: Queryable) => Promise<T>) =>
      guarded(async () => {
        const client = await pool.connect()
        try {
          await client.query('BEGIN')
          const result = await work({ query: async <R>(sql: string, params?: unknown[]) => (await client.query(sql, params)).rows as R[] })
          await client.query('COMMIT')
          return result
        } catch (err) {
          await client.query('ROLLBACK').catch(() => {})
          throw err
        } finally {
          client.release()
        }
      }),
    async ping() {
      await guarded(() => pool.query('SELECT 1'))
    },
    close: () => pool.end(),
  }
}
