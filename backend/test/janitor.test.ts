import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../src/config'
import type { Deps } from '../src/deps'
import { Janitor } from '../src/jobs/janitor'
import { openDeps } from '../src/server'
import { newId, newStorageKey } from '../src/shares/ids'
import { sharesRepo } from '../src/db/shares.repo'
import { createDatabase, startPostgres, type ServiceHandle } from './support/services'
import { pino } from 'pino'

describe('janitor', () => {
  let pg: ServiceHandle
  let dataDir: string
  const instances: Deps[] = []

  beforeAll(async () => {
    pg = await startPostgres()
    dataDir = mkdtempSync(join(tmpdir(), 'sharesync-janitor-'))
    const url = await createDatabase(pg.url, 'janitor')
    // three instances: separate pools, one database, one shared blob directory
    for (let i = 0; i < 3; i++) {
      const config = loadConfig({ DATA_DIR: dataDir, DATABASE_URL: url, LOG_LEVEL: 'silent', SESSION_SECRET: 'x'.repeat(32) })
      instances.push(await openDeps(config, pino({ level: 'silent' })))
    }
  })
  afterAll(async () => {
    for (const d of instances) await d.db.close()
    await pg?.stop()
    rmSync(dataDir, { recursive: true, force: true })
  })

  async function seed(deps: Deps, n: number, expiresAt: Date, opts: { maxDownloads?: number; downloads?: number; status?: 'ready' | 'uploading' } = {}) {
    const ids: string[] = []
    for (let i = 0; i < n; i++) {
      const id = newId()
      const key = newStorageKey(id)
      await deps.store.put(key, Readable.from([Buffer.from(`blob ${i}`)]), { contentType: 'text/plain' })
      await deps.db.tx((q) =>
        sharesRepo.insertShare(
          q,
          { id, ownerUserId: null, ownerTokenHash: null, passwordHash: null, maxDownloads: opts.maxDownloads ?? null, expiresAt, anonymous: true, clientKey: 'seed', status: opts.status ?? 'ready' },
          [{ id: newId(), position: 0, name: `f${i}`, size: 6, contentType: 'text/plain', storageKey: key, uploadId: null, partSize: 0, partCount: 0 }],
        ),
      )
      if (opts.downloads) await deps.db.query(`UPDATE shares SET downloads = $2 WHERE id = $1`, [id, opts.downloads])
      ids.push(id)
    }
    return ids
  }

  it('run by three instances at once on 500 expired shares, deletes each exactly once', async () => {
    const [a, b, c] = instances as [Deps, Deps, Deps]
    const expired = await seed(a, 500, new Date(Date.now() - 1000))
    const live = await seed(a, 5, new Date(Date.now() + 3_600_000))
    const runs = await Promise.all([a, b, c].map((deps) => new Janitor(deps, 25).runOnce()))
    const all = runs.flatMap((r) => r.deleted)
    expect(all).toHaveLength(500)
    expect(new Set(all)).toEqual(new Set(expired))
    // the work was actually shared (SKIP LOCKED), not done by one instance while others waited
    expect(runs.filter((r) => r.deleted.length > 0).length).toBeGreaterThan(1)
    const [{ deleted, remaining }] = (await a.db.query<{ deleted: number; remaining: number }>(
      `SELECT count(*) FILTER (WHERE status = 'deleted')::int AS deleted, count(*) FILTER (WHERE status <> 'deleted')::int AS remaining FROM shares`,
    )) as [{ deleted: number; remaining: number }]
    expect(deleted).toBe(500)
    expect(remaining).toBe(5)
    // blobs: gone for the expired shares, still there for the live ones
    for (const id of expired.slice(0, 20)) {
      const [file] = await sharesRepo.files(a.db, id)
      expect(await a.store.head(file!.storage_key)).toBeNull()
    }
    for (const id of live) {
      const [file] = await sharesRepo.files(a.db, id)
      expect(await a.store.head(file!.storage_key)).toEqual({ size: 6 })
    }
  })

  it('removes exhausted shares only after a grace period, and abandoned uploads after a day', async () => {
    const [a] = instances as [Deps]
    const exhaustedRecent = await seed(a, 1, new Date(Date.now() + 3_600_000), { maxDownloads: 1, downloads: 1 })
    await a.db.query(`UPDATE shares SET last_download_at = now() WHERE id = $1`, [exhaustedRecent[0]])
    const exhaustedOld = await seed(a, 1, new Date(Date.now() + 3_600_000), { maxDownloads: 1, downloads: 1 })
    await a.db.query(`UPDATE shares SET last_download_at = now() - interval '2 hours' WHERE id = $1`, [exhaustedOld[0]])
    const staleUpload = await seed(a, 1, new Date(Date.now() + 3_600_000), { status: 'uploading' })
    await a.db.query(`UPDATE shares SET created_at = now() - interval '25 hours' WHERE id = $1`, [staleUpload[0]])
    const freshUpload = await seed(a, 1, new Date(Date.now() + 3_600_000), { status: 'uploading' })
    const { deleted } = await new Janitor(a).runOnce()
    expect(deleted.sort()).toEqual([...exhaustedOld, ...staleUpload].sort())
    expect(deleted).not.toContain(exhaustedRecent[0])
    expect(deleted).not.toContain(freshUpload[0])
  })
})
