import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { setFlagsFromString } from 'node:v8'
import type { Logger } from 'pino'
import { AppError, isConnectionError } from '../http/app-error'
import type { Db, Queryable } from './db'
import { migrate } from './migrate'
import { PgliteWorkerDb } from './pglite-client'

export interface PostgresOptions {
  /** connections per instance */
  poolSize?: number
  /** how long a request waits for a connection before it answers 503 */
  connectTimeoutMs?: number
  /** the server cancels longer statements, and ends transactions idle for as long */
  statementTimeoutMs?: number
}

export type DatabaseConfig = { kind: 'pglite'; dir: string } | ({ kind: 'postgres'; url: string } & PostgresOptions)

const INT8 = 20
// Counts and sizes are bigint columns; every value this app stores fits in 2^53.
const toNumber = (v: string) => Number(v)

export async function connectDb(config: DatabaseConfig, logger?: Logger): Promise<Db> {
  const db = config.kind === 'pglite' ? await openPglite(config.dir, logger) : await openPostgres(config.url, config, logger)
  await migrate(db)
  return db
}

/**
 * Creating a PGlite cluster (initdb) peaks at ~750 MB of WASM memory that V8 gives back only
 * lazily; doing it once in a short-lived child process keeps the server's own footprint small.
 */
export function initPgliteCluster(dir: string): void {
  const entry = pathToFileURL(createRequire(import.meta.url).resolve('@electric-sql/pglite')).href
  const script = `const { PGlite } = await import(${JSON.stringify(entry)}); const db = await PGlite.create(${JSON.stringify(dir)}); await db.close()`
  execFileSync(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 120_000 })
}

/**
 * PGlite's WASM module (9 MB) is compiled by V8's baseline compiler (Liftoff) when it loads; by
 * default V8 then compiles its busy functions again with its optimizing compiler (TurboFan) while it
 * runs, and that second tier kept 40–70 MiB more of the server resident (its code and compiler
 * memory), about as much as the embedded database's own memory. The embedded default serves one
 * small instance: its database stays on the first tier. Process-wide V8 flags, set before the
 * module is compiled, and only when PGlite is used (nothing else in the server runs WASM).
 */
function baselineWasmOnly(): void {
  setFlagsFromString('--no-wasm-dynamic-tiering')
  setFlagsFromString('--no-wasm-tier-up')
}

/**
 * PostgreSQL settings of the embedded database. Postgres' default 128 MB of shared buffers would all
 * become resident WASM memory; the embedded database serves one small instance, so a few MB keep the
 * server's footprint small.
 */
export const PGLITE_SETTINGS = ['-c', 'shared_buffers=16MB', '-c', 'work_mem=2MB']

async function openPglite(dir: string, logger?: Logger): Promise<Db> {
  baselineWasmOnly()
  if (dir !== 'memory://') {
    mkdirSync(dir, { recursive: true })
    if (!existsSync(join(dir, 'PG_VERSION'))) initPgliteCluster(dir)
  }
  const db = new PgliteWorkerDb({ dir, settings: PGLITE_SETTINGS }, logger)
  await db.open()
  return db
}

/**
 * "The database is down or overloaded" rather than "this statement is wrong": connection failures,
 * PostgreSQL's connection (08), resource (53) and operator-intervention (57: shutdown, statement
 * timeout) classes, an idle-in-transaction timeout, and node-postgres' own timeouts.
 */
export function isDatabaseDown(err: unknown): boolean {
  if (isConnectionError(err)) return true
  const e = err as { code?: unknown; message?: unknown } | null
  if (typeof e?.code === 'string' && /^(08|53|57|25P03)/.test(e.code)) return true
  return typeof e?.message === 'string' && /timeout exceeded when trying to connect|Query read timeout|not queryable|Connection terminated/i.test(e.message)
}

/** A failure of the database itself answers 503 database_unavailable; a wrong statement stays what it is. */
async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (err) {
    if (!(err instanceof AppError) && isDatabaseDown(err)) {
      throw new AppError('database_unavailable', 'The database is unavailable, please try again shortly.', { retryAfter: 2, cause: err })
    }
    throw err
  }
}

async function openPostgres(url: string, opts: PostgresOptions, logger?: Logger): Promise<Db> {
  // Loaded only when used: the embedded default (PGlite) never needs the PostgreSQL client.
  const { default: pg } = await import('pg')
  const statementTimeout = opts.statementTimeoutMs ?? 30_000
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.poolSize ?? 10,
    // Waiting this long for a connection (pool exhausted, or the server unreachable) answers 503.
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 3000,
    idleTimeoutMillis: 30_000,
    // The server cancels a statement that runs longer (a lock held elsewhere, an overloaded server),
    // and ends a transaction left idle that long, so its locks cannot outlive a stuck request.
    statement_timeout: statementTimeout,
    idle_in_transaction_session_timeout: statementTimeout,
    // A server that does not answer at all (frozen, network gone) is given up a little later.
    query_timeout: statementTimeout + 2000,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8 ? toNumber : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  })
  // node-postgres emits 'error' on a client whose connection fails (a restart, 57P01 "terminating
  // connection due to administrator command"), also while it is checked out, e.g. between the
  // statements of a transaction; an 'error' event nobody listens to ends the process. The pool
  // re-emits it for idle clients: that one is logged by the client's own listener already.
  pool.on('connect', (client) => client.on('error', (err: Error & { code?: string }) => logger?.warn({ err: err.message, code: err.code }, 'database connection lost')))
  pool.on('error', () => undefined)
  return {
    kind: 'postgres',
    query: <T>(sql: string, params?: unknown[]) => guarded(async () => (await pool.query(sql, params)).rows as T[]),
    async tx<T>(work: (q: Queryable) => Promise<T>): Promise<T> {
      const client = await guarded(() => pool.connect())
      let broken: unknown
      const query = async <R>(sql: string, params?: unknown[]) =>
        guarded(async () => (await client.query(sql, params)).rows as R[]).catch((err: unknown) => {
          if (err instanceof AppError && err.code === 'database_unavailable') broken = err
          throw err
        })
      try {
        await query('BEGIN')
        const result = await work({ query })
        await query('COMMIT')
        return result
      } catch (err) {
        if (!broken) await client.query('ROLLBACK').catch((rollbackErr: unknown) => (broken = rollbackErr))
        throw err
      } finally {
        // A client whose connection failed goes away instead of back into the pool.
        client.release(broken ? (broken instanceof Error ? broken : true) : undefined)
      }
    },
    async ping() {
      await guarded(() => pool.query('SELECT 1'))
    },
    close: () => pool.end(),
  }
}
