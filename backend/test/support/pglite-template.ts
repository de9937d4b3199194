/**
 * A fresh PGlite cluster for each test server without running initdb each time: initdb costs
 * seconds of CPU (and ~750 MB of WASM memory) per server, and every fresh DATA_DIR needs it. The
 * first server on this machine creates an empty cluster once, exactly as the app does, and every
 * later one starts from a copy of it (the app then migrates it, as it would its own new cluster).
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { initPgliteCluster } from '../../src/db/connect'

/** One template per PGlite version: another version may lay out its cluster differently. */
function templateDir(): string {
  const require = createRequire(import.meta.url)
  const pkg = join(dirname(require.resolve('@electric-sql/pglite')), '..', 'package.json')
  const { version } = JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }
  return join(tmpdir(), `sharesync-test-pglite-cluster-${version}`)
}

/**
 * Puts an empty cluster at `dir` (DATA_DIR/db) unless one is there. Test processes running at once
 * may each build the template; the first to rename its copy into place wins, the others discard theirs.
 */
export function seedPgliteCluster(dir: string): void {
  if (existsSync(join(dir, 'PG_VERSION'))) return
  const template = templateDir()
  if (!existsSync(join(template, 'PG_VERSION'))) {
    const building = mkdtempSync(`${template}.building-`)
    initPgliteCluster(join(building, 'db'))
    try {
      renameSync(join(building, 'db'), template)
    } catch {
      // another process put its template in place first
    }
    rmSync(building, { recursive: true, force: true })
  }
  cpSync(template, dir, { recursive: true })
}
