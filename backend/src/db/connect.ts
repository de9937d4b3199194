import { mkdirSync } from 'node:fs'
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

async function openPglite(dir: string): Promise<Db> {
  if (dir !== 'memory://') mkdirSync(dir, { recursive: true })
  const lite = await PGlite.create(dir, { parsers: { [INT8]: toNumber } })
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
