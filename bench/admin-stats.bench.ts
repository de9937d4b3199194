/**
 * Admin statistics at scale: prints JSON figures, asserts nothing.
 *
 *   node --import tsx bench/admin-stats.bench.ts                 # PostgreSQL (a throwaway cluster)
 *   BENCH_DB=pglite node --import tsx bench/admin-stats.bench.ts # embedded PGlite
 *
 * Seeds BENCH_SHARES (100 000) shares with one file each, BENCH_DOWNLOADS (1 000 000) download
 * events and BENCH_P2P (20 000) P2P reports spread over the last year with generate_series, then
 * times the admin endpoints over HTTP as a signed-in admin (the one-time bootstrap link):
 * GET /api/admin/stats for the default 30 days and for a whole year, and the management lists.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { ensureAdminBootstrap } from '../backend/src/auth/auth.service'
import { loadConfig } from '../backend/src/config'
import { createLogger } from '../backend/src/logger'
import { startServer } from '../backend/src/server'
import { seedStats } from '../backend/test/support/seed-stats'
import { createDatabase, startPostgres, type ServiceHandle } from '../backend/test/support/services'

// Benchmark switches: read here only, like a test's TEST_LOG_LEVEL.
const env = process.env
const DB = env.BENCH_DB === 'pglite' ? 'pglite' : 'postgres'
const SHARES = Number(env.BENCH_SHARES ?? 100_000)
const DOWNLOADS = Number(env.BENCH_DOWNLOADS ?? 1_000_000)
const P2P = Number(env.BENCH_P2P ?? 20_000)
const REPEAT = Number(env.BENCH_REPEAT ?? 5)

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), 'sharesync-bench-admin-'))
  let pg: ServiceHandle | null = null
  const dbEnv: Record<string, string> = {}
  if (DB === 'postgres') {
    pg = await startPostgres()
    dbEnv.DATABASE_URL = await createDatabase(pg.url, 'bench_admin')
  }
  const config = loadConfig({ NODE_ENV: 'production', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', DATA_DIR: dataDir, ...dbEnv })
  const server = await startServer(config, { logger: createLogger('silent'), janitor: false })
  const db = server.deps.db
  try {
    const seedStart = performance.now()
    await seedStats(db, { shares: SHARES, downloads: DOWNLOADS, p2p: P2P })
    // Autovacuum would have run on tables this size: index-only scans need the visibility map.
    await db.query('VACUUM ANALYZE')
    const seedMs = performance.now() - seedStart

    // Sign in as the admin through the one-time link, as an operator would.
    const link = await ensureAdminBootstrap(server.deps)
    if (!link) throw new Error('no bootstrap link')
    const signIn = await fetch(`${server.url}${link}`, { redirect: 'manual' })
    const cookie = signIn.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ')

    async function time(path: string) {
      const ms: number[] = []
      let bytes = 0
      for (let i = 0; i < REPEAT; i++) {
        const start = performance.now()
        const res = await fetch(`${server.url}${path}`, { headers: { cookie } })
        const body = await res.text()
        if (!res.ok) throw new Error(`${path} answered ${res.status}: ${body}`)
        ms.push(performance.now() - start)
        bytes = body.length
      }
      ms.sort((a, b) => a - b)
      return {
        path,
        firstMs: round(ms[0]!),
        medianMs: round(ms[Math.floor(ms.length / 2)]!),
        maxMs: round(ms.at(-1)!),
        responseBytes: bytes,
      }
    }

    const day = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10)
    const results = [
      await time('/api/admin/stats'),
      await time(`/api/admin/stats?from=${day(365)}&to=${day(0)}`),
      await time('/api/admin/shares?limit=20'),
      await time('/api/admin/shares?limit=20&offset=50000'),
      await time('/api/admin/shares?q=file-4242.bin'),
      await time('/api/admin/users?q=user42'),
    ]
    const stats = (await (await fetch(`${server.url}/api/admin/stats`, { headers: { cookie } })).json()) as {
      totals: Record<string, number>
    }
    process.stdout.write(
      `${JSON.stringify({ db: DB, seeded: { shares: SHARES, downloadEvents: DOWNLOADS, p2pTransfers: P2P, users: 1000, seedMs: round(seedMs) }, repeat: REPEAT, results, totals: stats.totals }, null, 2)}\n`,
    )
  } finally {
    await server.close()
    await pg?.stop()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

const round = (n: number) => Math.round(n * 10) / 10

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exit(1)
})
