/**
 * The built server's young generation (V8's new space), read from the server process's own
 * diagnostic report (`--report-on-signal`): the embedded default holds it at its starting size
 * through an upload and a burst of requests, and a PostgreSQL deployment lets it grow with the load
 * (backend/src/memory/young-generation.ts).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDatabase, startPostgres } from '../backend/test/support/services'
import { startApp, type AppProcess } from './support/app-server'

const MiB = 2 ** 20
/** The starting size: 1 MiB per semi-space (the report counts both). */
const HELD_AT_MOST = 2 * MiB
const ENV = { UPLOAD_RATE_LIMIT: '1000/1h' }

interface Report {
  javascriptHeap: { heapSpaces: Record<string, { memorySize: number }> }
}

/** A server that writes a diagnostic report on SIGUSR2, and a way to ask it for one. */
async function reportingApp(env: Record<string, string>) {
  const reports = mkdtempSync(join(tmpdir(), 'sharesync-reports-'))
  const app = await startApp({ ...ENV, ...env }, { nodeArgs: ['--report-on-signal', '--report-signal=SIGUSR2', `--report-directory=${reports}`] })
  const newSpace = async (): Promise<number> => {
    const before = new Set(readdirSync(reports))
    app.proc.kill('SIGUSR2')
    const fresh = () => readdirSync(reports).filter((f) => !before.has(f) && f.endsWith('.json'))
    await expect.poll(() => fresh().some((f) => statSync(join(reports, f)).size > 0 && isJson(join(reports, f)))).toBe(true)
    const report = JSON.parse(readFileSync(join(reports, fresh()[0]!), 'utf8')) as Report
    return report.javascriptHeap.heapSpaces.new_space!.memorySize
  }
  return { app, newSpace, remove: () => rmSync(reports, { recursive: true, force: true }) }
}

function isJson(path: string): boolean {
  try {
    JSON.parse(readFileSync(path, 'utf8'))
    return true
  } catch {
    return false
  }
}

/** A 16 MiB curl-style upload, then 2 000 share lookups from 20 clients at once. */
async function underLoad(app: AppProcess): Promise<void> {
  const res = await fetch(`${app.url}/api/upload/load.bin`, { method: 'PUT', body: new Uint8Array(16 * MiB).fill(7) })
  expect(res.status).toBe(201)
  const { id } = (await res.json()) as { id: string }
  await Promise.all(
    Array.from({ length: 20 }, async () => {
      for (let i = 0; i < 100; i++) {
        const r = await fetch(`${app.url}/api/shares/${id}`)
        expect(r.status).toBe(200)
        await r.arrayBuffer()
      }
    }),
  )
}

describe('the young generation', () => {
  let pg: Awaited<ReturnType<typeof startPostgres>>
  const cleanups: (() => Promise<void> | void)[] = []
  beforeAll(async () => {
    pg = await startPostgres()
  })
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup()
    await pg?.stop()
  })

  it('stays at its starting size on the embedded default, through an upload and a burst of requests', async () => {
    const { app, newSpace, remove } = await reportingApp({})
    cleanups.push(remove, () => app.stop())
    // The PGlite worker has started by now (the health check reads the database), which resets V8's growth factor.
    expect(await newSpace()).toBeLessThanOrEqual(HELD_AT_MOST)
    await underLoad(app)
    expect(await newSpace()).toBeLessThanOrEqual(HELD_AT_MOST)
  })

  it('grows with the load on PostgreSQL', async () => {
    const { app, newSpace, remove } = await reportingApp({ DATABASE_URL: await createDatabase(pg.url, 'memory_e2e') })
    cleanups.push(remove, () => app.stop())
    await underLoad(app)
    expect(await newSpace()).toBeGreaterThan(2 * HELD_AT_MOST)
  })
})
