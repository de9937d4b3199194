/**
 * The stats endpoint at scale on real PostgreSQL: 100 000 shares and 1 000 000 download events.
 * The figures must be exact; the time is printed for the record, not asserted (shared machine).
 */
import { performance } from 'node:perf_hooks'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { StatsResponse } from '@sharesync/protocol'
import { ensureAdminBootstrap } from '../src/auth/auth.service'
import { startTestServer, type TestServer } from './support/harness'
import { seedStats } from './support/seed-stats'
import { createDatabase, startPostgres, type ServiceHandle } from './support/services'

const SHARES = 100_000
const DOWNLOADS = 1_000_000
const P2P = 20_000

describe('admin stats at scale (PostgreSQL)', () => {
  let pg: ServiceHandle
  let server: TestServer
  let cookie = ''

  beforeAll(async () => {
    pg = await startPostgres()
    // Seeding a million rows is a fixture, not a request: on a loaded machine one INSERT of it has
    // taken longer than the server's default 30 s statement timeout (and failed as "database unavailable").
    server = await startTestServer({ DATABASE_URL: await createDatabase(pg.url, 'admin_scale'), DATABASE_STATEMENT_TIMEOUT: '10m' })
    await seedStats(server.deps.db, { shares: SHARES, downloads: DOWNLOADS, p2p: P2P })
    await server.deps.db.query('VACUUM ANALYZE')
    const link = await ensureAdminBootstrap(server.deps)
    const signIn = await server.fetch(link!, { redirect: 'manual' })
    cookie = signIn.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ')
  }, 300_000)
  afterAll(async () => {
    await server?.close()
    await pg?.stop()
  })

  it('answers exact totals and a year of daily figures over 100 000 shares and 1 000 000 downloads', async () => {
    const day = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10)
    const timings: Record<string, number> = {}
    let year: StatsResponse | null = null
    for (const [label, path] of [['30 days', '/api/admin/stats'], ['a year', `/api/admin/stats?from=${day(364)}&to=${day(0)}`]] as const) {
      const started = performance.now()
      const res = await server.fetch(path, { headers: { cookie } })
      expect(res.status).toBe(200)
      year = (await res.json()) as StatsResponse
      timings[label] = Math.round(performance.now() - started)
    }
    expect(year!.totals).toMatchObject({ downloads: DOWNLOADS, uploads: SHARES, p2pTransfers: P2P, users: 1001 })
    // every download event of the range is in exactly one day of the series
    const [inRange] = await server.deps.db.query<{ downloads: number; p2p: number }>(
      `SELECT (SELECT count(*) FROM download_events WHERE at >= $1::date)::int AS downloads,
              (SELECT count(*) FROM p2p_transfers WHERE created_at >= $1::date)::int AS p2p`,
      [year!.range.from],
    )
    expect(inRange!.downloads).toBeGreaterThan(DOWNLOADS * 0.99)
    expect(year!.series.reduce((n, d) => n + d.downloads, 0)).toBe(inRange!.downloads)
    expect(year!.series.reduce((n, d) => n + d.p2pTransfers, 0)).toBe(inRange!.p2p)
    process.stdout.write(`admin stats at scale (PostgreSQL): ${JSON.stringify(timings)} ms\n`)
  })
})
