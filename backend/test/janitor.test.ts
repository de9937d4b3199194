import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
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

  it('a blob whose delete always fails does not stop the janitor from deleting the other 499 expired shares', async () => {
    const [a, b] = instances as [Deps, Deps]
    const expired = await seed(a, 500, new Date(Date.now() - 1000), { maxDownloads: 3 })
    const stuck = expired[137]!
    const [file] = await sharesRepo.files(a.db, stuck)
    // Its object becomes a directory with something in it: unlinking it fails (EISDIR), every time.
    const objectPath = join(dataDir, 'blobs', 'objects', file!.storage_key)
    rmSync(objectPath)
    mkdirSync(objectPath)
    writeFileSync(join(objectPath, 'pinned'), 'x')

    const run = await new Janitor(a, 25).runOnce()
    expect(run.deleted).toHaveLength(499)
    expect(new Set(run.deleted)).toEqual(new Set(expired.filter((id) => id !== stuck)))
    expect(run.failed).toEqual([stuck])
    const state = async () =>
      (await a.db.query<{ status: string; delete_attempts: number; backed_off: boolean; delete_error: string }>(
        `SELECT status, delete_attempts, delete_after > now() AS backed_off, delete_error FROM shares WHERE id = $1`,
        [stuck],
      ))[0]!
    expect(await state()).toMatchObject({ status: 'deleting', delete_attempts: 1, backed_off: true, delete_error: expect.stringMatching(/EISDIR/) })
    // gone for recipients and owners all the same
    expect(await sharesRepo.findLive(a.db, stuck)).toBeNull()
    expect(await sharesRepo.findActive(a.db, stuck)).toBeNull()

    // Backed off: another run (on another instance) right away leaves it alone.
    expect(await new Janitor(b, 25).runOnce()).toEqual({ deleted: [], failed: [] })
    expect((await state()).delete_attempts).toBe(1)
    // Once the back-off is over it is tried again; once its blob can go, it goes.
    await a.db.query(`UPDATE shares SET delete_after = now() - interval '1 second' WHERE id = $1`, [stuck])
    expect(await new Janitor(b, 25).runOnce()).toEqual({ deleted: [], failed: [stuck] })
    expect((await state()).delete_attempts).toBe(2)
    rmSync(objectPath, { recursive: true })
    await a.db.query(`UPDATE shares SET delete_after = now() - interval '1 second' WHERE id = $1`, [stuck])
    expect(await new Janitor(a, 25).runOnce()).toEqual({ deleted: [stuck], failed: [] })
    expect((await state()).status).toBe('deleted')
  })

  it('a share claimed by an instance that died mid-delete is finished by another after the work reservation', async () => {
    const [a, b] = instances as [Deps, Deps]
    const [id] = await seed(a, 1, new Date(Date.now() + 3_600_000))
    const [file] = await sharesRepo.files(a.db, id!)
    // claimed (404 from here on), then the instance "dies" before removing anything
    expect(await sharesRepo.claimForDelete(a.db, id!, { by: 'owner', workSeconds: 600 })).toBe(true)
    expect(await sharesRepo.claimForDelete(b.db, id!, { by: 'admin', workSeconds: 600 })).toBe(false)
    expect(await new Janitor(b).runOnce()).toEqual({ deleted: [], failed: [] })
    expect(await b.store.head(file!.storage_key)).toEqual({ size: 6 })
    await a.db.query(`UPDATE shares SET delete_after = now() - interval '1 second' WHERE id = $1`, [id])
    expect((await new Janitor(b).runOnce()).deleted).toEqual([id])
    expect(await b.store.head(file!.storage_key)).toBeNull()
    const [row] = await a.db.query<{ deleted_by: string }>(`SELECT deleted_by FROM shares WHERE id = $1`, [id])
    expect(row!.deleted_by).toBe('owner')
  })
})
