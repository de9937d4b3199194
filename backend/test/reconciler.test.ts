/**
 * The reconciler on both stores (disk + PGlite, S3 on s3rver + PostgreSQL): storage that no row
 * references is removed once older than ORPHAN_GRACE (2 s here); everything a row still needs stays.
 */
import { utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sharesRepo } from '../src/db/shares.repo'
import { Reconciler } from '../src/jobs/reconciler'
import { newId, newStorageKey } from '../src/shares/ids'
import { startTestServer, type TestServer } from './support/harness'
import { createDatabase, startPostgres, startS3, type ServiceHandle } from './support/services'

let pg: ServiceHandle
let s3: Awaited<ReturnType<typeof startS3>>
beforeAll(async () => {
  ;[pg, s3] = await Promise.all([startPostgres(), startS3('reconcile')])
})
afterAll(async () => {
  await Promise.all([pg?.stop(), s3?.stop()])
})

const GRACE_SECONDS = 2

for (const [name, env] of [
  ['disk store + PGlite', async () => ({})],
  ['S3 (s3rver) + PostgreSQL', async () => ({ ...s3.env, DATABASE_URL: await createDatabase(pg.url, 'reconciler') })],
] as const) {
  describe(`reconciler on ${name}`, () => {
    let server: TestServer
    beforeAll(async () => {
      server = await startTestServer({ ...(await env()), ORPHAN_GRACE: String(GRACE_SECONDS), RECONCILE_INTERVAL: '1h' })
    })
    afterAll(() => server?.close())

    const store = () => server.deps.store
    const put = async (key: string) => {
      await store().put(key, Readable.from([Buffer.from('bytes')]), { contentType: 'text/plain' })
      return key
    }
    /** A share row with one file: `object` stored, or a multipart upload recorded on the row, or neither. */
    const share = async (o: { status: 'ready' | 'uploading' | 'deleted'; file: 'object' | 'recorded-upload' | 'streaming' }) => {
      const id = newId()
      const key = newStorageKey(id)
      let uploadId: string | null = null
      if (o.file === 'object') await put(key)
      else uploadId = (await store().createMultipart(key, { contentType: 'text/plain' })).uploadId
      await server.deps.db.tx((q) =>
        sharesRepo.insertShare(
          q,
          { id, ownerUserId: null, ownerTokenHash: null, passwordHash: null, maxDownloads: null, expiresAt: new Date(Date.now() + 3_600_000), anonymous: true, clientKey: 'test', status: o.status === 'deleted' ? 'ready' : o.status },
          // a streaming curl upload: the row names the key, the server never recorded the upload id
          [{ id: newId(), position: 0, name: 'f', size: 5, contentType: 'text/plain', storageKey: key, uploadId: o.file === 'recorded-upload' ? uploadId : null, partSize: 0, partCount: 0 }],
        ),
      )
      if (o.file === 'object' && o.status === 'ready') await server.deps.db.query(`UPDATE files SET completed_at = now() WHERE share_id = $1`, [id])
      if (o.status === 'deleted') await server.deps.db.query(`UPDATE shares SET status = 'deleted', deleted_at = now() WHERE id = $1`, [id])
      return { id, key, uploadId }
    }
    const objectKeys = async () => {
      const keys = new Set<string>()
      for await (const o of store().inventory!.objects()) keys.add(o.key)
      return keys
    }
    const uploadIds = async () => {
      const ids = new Set<string>()
      for await (const u of store().inventory!.uploads()) ids.add(u.uploadId)
      return ids
    }

    it('removes objects and multipart uploads no row references once older than the grace period, and nothing a row needs', async () => {
      const kept = {
        ready: await share({ status: 'ready', file: 'object' }),
        uploading: await share({ status: 'uploading', file: 'recorded-upload' }),
        streaming: await share({ status: 'uploading', file: 'streaming' }),
      }
      const orphanObject = await put(newStorageKey(newId()))
      const orphanUpload = await store().createMultipart(newStorageKey(newId()), { contentType: 'text/plain' })
      const deletedShare = await share({ status: 'deleted', file: 'object' })
      const deletedUpload = await share({ status: 'deleted', file: 'recorded-upload' })
      let scratch: string | null = null
      if (store().kind === 'disk') {
        scratch = join(server.dataDir, 'blobs', 'tmp', 'dead-request')
        writeFileSync(scratch, 'half a file')
      }
      // everything above is now older than the grace period…
      await new Promise((r) => setTimeout(r, (GRACE_SECONDS + 1) * 1000))
      if (scratch) utimesSync(scratch, new Date(Date.now() - 10_000), new Date(Date.now() - 10_000))
      // …and these are not: a request may still be about to record them
      const youngObject = await put(newStorageKey(newId()))
      const youngUpload = await store().createMultipart(newStorageKey(newId()), { contentType: 'text/plain' })

      const run = await new Reconciler(server.deps).runOnce()
      expect(run).toMatchObject({ objects: 2, uploads: 2, failures: 0, scratch: scratch ? 1 : 0 })

      const objects = await objectKeys()
      expect(objects.has(kept.ready.key)).toBe(true)
      expect(objects.has(youngObject)).toBe(true)
      expect(objects.has(orphanObject)).toBe(false)
      expect(objects.has(deletedShare.key)).toBe(false)
      const uploads = await uploadIds()
      for (const id of [kept.uploading.uploadId, kept.streaming.uploadId, youngUpload.uploadId]) expect(uploads.has(id!)).toBe(true)
      expect(uploads.has(orphanUpload.uploadId)).toBe(false)
      expect(uploads.has(deletedUpload.uploadId!)).toBe(false)
      // the share that is still ready downloads as before
      expect(await store().head(kept.ready.key)).toEqual({ size: 5 })

      // a second pass finds nothing more
      expect(await new Reconciler(server.deps).runOnce()).toMatchObject({ objects: 0, uploads: 0, scratch: 0, failures: 0, lost: [] })
    })

    it('reports the ready shares whose file is gone from storage or has the wrong size, and deletes nothing of them', async () => {
      const whole = await share({ status: 'ready', file: 'object' })
      const gone = await share({ status: 'ready', file: 'object' })
      const truncated = await share({ status: 'ready', file: 'object' })
      await store().delete(gone.key)
      await store().put(truncated.key, Readable.from([Buffer.from('byt')]), { contentType: 'text/plain' })
      // completed long enough ago (a file completed just now may still be on its way into storage)
      await server.deps.db.query(`UPDATE files SET completed_at = now() - interval '1 hour' WHERE share_id = ANY($1::text[])`, [[whole.id, gone.id, truncated.id]])
      const young = await share({ status: 'ready', file: 'object' })
      await store().delete(young.key)

      const run = await new Reconciler(server.deps).runOnce()
      const lostShares = run.lost.map((l) => l.shareId)
      expect(new Set(lostShares)).toEqual(new Set([gone.id, truncated.id]))
      expect(run.lost.find((l) => l.shareId === gone.id)).toMatchObject({ key: gone.key })
      expect(run).toMatchObject({ failures: 0, cursor: '' })
      // reported, not acted on: the shares stay as they are, the short object is not removed
      const [row] = await server.deps.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM shares WHERE id = ANY($1::text[]) AND status = 'ready'`, [[whole.id, gone.id, truncated.id]])
      expect(row!.n).toBe(3)
      expect(await store().head(truncated.key)).toEqual({ size: 3 })
      expect(await store().head(whole.key)).toEqual({ size: 5 })
    })

    it('checks a bounded number of files per run, each run resuming where the previous one stopped', async () => {
      const reconciler = new Reconciler(server.deps, { checksPerRun: 2 })
      const all = new Reconciler(server.deps)
      const total = (await all.runOnce()).checked
      expect(total).toBeGreaterThanOrEqual(4)
      let cursor = ''
      let checked = 0
      const lost = new Set<string>()
      const cursors: string[] = []
      do {
        const run = await reconciler.runOnce(cursor)
        expect(run.checked).toBeLessThanOrEqual(2)
        checked += run.checked
        for (const l of run.lost) lost.add(l.shareId)
        cursor = run.cursor
        if (cursor) cursors.push(cursor)
      } while (cursor && cursors.length < 50)
      // every file once, in order, and the same findings as one unbounded run
      expect(checked).toBe(total)
      expect([...cursors].sort()).toEqual(cursors)
      expect(lost).toEqual(new Set((await all.runOnce()).lost.map((l) => l.shareId)))
    })

    it('runs on one instance at a time: a second instance within RECONCILE_INTERVAL skips it', async () => {
      const first = new Reconciler(server.deps)
      const second = new Reconciler(server.deps)
      expect(await first.runIfDue()).not.toBeNull()
      expect(await second.runIfDue()).toBeNull()
      const [row] = await server.deps.db.query<{ due_later: boolean }>(`SELECT locked_until > now() + interval '50 minutes' AS due_later FROM job_runs WHERE name = 'reconcile'`)
      expect(row!.due_later).toBe(true)
    })

    it('a run that was cut short by its bound is resumed by the next due run, on whichever instance', async () => {
      const due = () => server.deps.db.query(`UPDATE job_runs SET locked_until = now() - interval '1 second' WHERE name = 'reconcile'`)
      const recorded = async () => (await server.deps.db.query<{ cursor: string }>(`SELECT last_result->>'cursor' AS cursor FROM job_runs WHERE name = 'reconcile'`))[0]!.cursor
      await due()
      const first = (await new Reconciler(server.deps, { checksPerRun: 1 }).runIfDue())!
      expect(first.cursor).not.toBe('')
      expect(await recorded()).toBe(first.cursor)
      await due()
      const next = (await new Reconciler(server.deps, { checksPerRun: 1 }).runIfDue())!
      expect(next.cursor > first.cursor).toBe(true)
      expect(await recorded()).toBe(next.cursor)
    })
  })
}
