/**
 * A fresh PGlite cluster for each test server without running initdb and the migrations each time:
 * initdb costs seconds of CPU (and ~750 MB of WASM memory) per server, and the migrations about as
 * much again as opening the database. The first server on this machine creates a cluster once,
 * exactly as the app does (initdb, then every migration), and every later one starts from a copy of
 * it; the app then finds its schema up to date, as it would in its own cluster. The template is
 * keyed by the PGlite version and the migrations' contents, so a changed migration builds a new one.
 * (Migrating a new cluster from nothing stays tested: the template is built that way, and the
 * zero-setup start test runs `pnpm start` on an empty data directory.)
 */
import { createHash } from 'node:crypto'
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { PGLITE_SETTINGS, initPgliteCluster } from '../../src/db/connect'
import { migrate, MIGRATIONS_DIR } from '../../src/db/migrate'
import { PgliteWorkerDb } from '../../src/db/pglite-client'

/** One template per PGlite version and set of migrations. */
function templateDir(): string {
  const require = createRequire(import.meta.url)
  const pkg = join(dirname(require.resolve('@electric-sql/pglite')), '..', 'package.json')
  const { version } = JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }
  const migrations = createHash('sha256')
  for (const file of readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql')).sort()) {
    migrations.update(`${file}\n`).update(readFileSync(join(MIGRATIONS_DIR, file))).update('\n')
  }
  return join(tmpdir(), `sharesync-test-pglite-${version}-${migrations.digest('hex').slice(0, 16)}`)
}

/**
 * Puts a migrated cluster at `dir` (DATA_DIR/db) unless one is there. Test processes running at once
 * may each build the template; the first to rename its copy into place wins, the others discard theirs.
 */
export async function seedPgliteCluster(dir: string): Promise<void> {
  if (existsSync(join(dir, 'PG_VERSION'))) return
  const template = templateDir()
  if (!existsSync(join(template, 'PG_VERSION'))) {
    const building = mkdtempSync(`${template}.building-`)
    const cluster = join(building, 'db')
    initPgliteCluster(cluster)
    const db = new PgliteWorkerDb({ dir: cluster, settings: PGLITE_SETTINGS })
    try {
      await migrate(db)
    } finally {
      await db.close()
    }
    try {
      renameSync(cluster, template)
    } catch {
      // another process put its template in place first
    }
    rmSync(building, { recursive: true, force: true })
  }
  cpSync(template, dir, { recursive: true })
}
