/**
 * The embedded database runs in a worker thread: a long statement no longer holds up the HTTP
 * event loop, and a worker that dies is replaced on the next statement.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PgliteWorkerDb } from '../src/db/pglite-client'
import { startTestServer, type TestServer } from './support/harness'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(() => server?.close())

describe('PGlite in a worker thread', () => {
  it('while the database runs a long statement, unrelated requests are answered before it ends', async () => {
    const order: string[] = []
    // About a second of pure CPU inside PostgreSQL (WASM).
    const heavy = server.deps.db.query('SELECT count(*) FROM generate_series(1, 3000000) g WHERE g % 7 = 3').then(() => order.push('database'))
    const liveness = server.fetch('/api/health').then(async (r) => {
      await r.arrayBuffer()
      order.push(`liveness ${r.status}`)
    })
    const config = server.fetch('/').then(async (r) => {
      await r.arrayBuffer()
      order.push(`page ${r.status}`)
    })
    await Promise.all([heavy, liveness, config])
    expect(order.indexOf('database')).toBe(2)
    expect(order.slice(0, 2).sort()).toEqual(['liveness 200', 'page 200'])
  })

  it('rows, dates, bigints and errors cross the thread boundary as they were', async () => {
    const [row] = await server.deps.db.query<{ n: number; at: Date; j: { a: number[] }; b: boolean; t: string | null }>(
      `SELECT 9007199254740991::bigint AS n, '2026-01-02T03:04:05Z'::timestamptz AS at, '{"a":[1,2]}'::jsonb AS j, true AS b, NULL::text AS t`,
    )
    expect(row).toEqual({ n: 9007199254740991, at: new Date('2026-01-02T03:04:05Z'), j: { a: [1, 2] }, b: true, t: null })
    await server.deps.db.query('CREATE TABLE IF NOT EXISTS worker_t (k text PRIMARY KEY)')
    await server.deps.db.query(`INSERT INTO worker_t VALUES ('x')`)
    await expect(server.deps.db.query(`INSERT INTO worker_t VALUES ('x')`)).rejects.toMatchObject({ code: '23505', constraint: 'worker_t_pkey' })
  })

  it('a transaction sees its own writes, a failed one leaves nothing, and statements outside wait for it', async () => {
    const db = server.deps.db
    await db.query('CREATE TABLE IF NOT EXISTS worker_tx (k int)')
    const outside: number[] = []
    await db.tx(async (q) => {
      await q.query('INSERT INTO worker_tx VALUES (1)')
      const pending = db.query<{ n: number }>('SELECT count(*)::int AS n FROM worker_tx').then(([r]) => outside.push(r!.n))
      expect((await q.query<{ n: number }>('SELECT count(*)::int AS n FROM worker_tx'))[0]!.n).toBe(1)
      expect(outside).toEqual([])
      void pending
    })
    await expect(
      db.tx(async (q) => {
        await q.query('INSERT INTO worker_tx VALUES (2)')
        throw new Error('changed my mind')
      }),
    ).rejects.toThrow('changed my mind')
    expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM worker_tx'))[0]!.n).toBe(1)
    await expect.poll(() => outside).toEqual([1])
  })

  it('a worker that dies fails what was in flight with 503 database_unavailable, and the next statement starts it again', async () => {
    const db = server.deps.db
    expect(db).toBeInstanceOf(PgliteWorkerDb)
    const worker = await (db as PgliteWorkerDb).open()
    const inFlight = db.query('SELECT count(*) FROM generate_series(1, 3000000)')
    await worker.terminate()
    await expect(inFlight).rejects.toMatchObject({ code: 'database_unavailable' })
    expect(await db.query('SELECT 1 AS one')).toEqual([{ one: 1 }])
    expect((await server.fetch('/api/health/ready')).status).toBe(200)
  })
})
