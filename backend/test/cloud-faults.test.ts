/**
 * Cloud links while storage misbehaves: a real s3rver child process, frozen with SIGSTOP, in front of
 * real PostgreSQL and the real server. What an operator would notice: one-time links that survive an
 * outage, and deletes that leave nothing half-done.
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { curl, randomFile, sha256File, tempPath } from './support/files'
import { startTestServer, type TestServer } from './support/harness'
import { Janitor } from '../src/jobs/janitor'
import { createDatabase, startPostgres, startS3, type ServiceHandle } from './support/services'

describe('cloud links while S3 is down', () => {
  let pg: ServiceHandle
  let s3: Awaited<ReturnType<typeof startS3>>
  let server: TestServer
  beforeAll(async () => {
    ;[pg, s3] = await Promise.all([startPostgres(), startS3()])
    server = await startTestServer({
      ...s3.env,
      DATABASE_URL: await createDatabase(pg.url, 'cloud_faults'),
      UPLOAD_RATE_LIMIT: '1000/1h',
      DOWNLOAD_LEASE_TTL: '30',
    })
  })
  afterAll(async () => {
    s3?.resume()
    await server?.close()
    await Promise.all([pg?.stop(), s3?.stop()])
  })

  const upload = async (options: string[] = []) => {
    const file = randomFile(100_000, `outage-${randomBytes(6).toString('hex')}.bin`)
    const up = await curl([...options, '-F', `file=@${file.path}`, `${server.url}/api/upload`])
    expect(up.status).toBe(201)
    return { ...(JSON.parse(up.body) as { id: string; downloadUrl: string; ownerToken: string }), file }
  }
  const counted = async (id: string) => {
    await server.deps.downloadEvents.flush()
    return (await server.deps.db.query<{ downloads: number; events: number }>(
      `SELECT downloads, (SELECT count(*) FROM download_events WHERE share_id = $1)::int AS events FROM shares WHERE id = $1`,
      [id],
    ))[0]
  }

  it('S3 stopped: a one-time download answers 503 and is not used up; once S3 is back it downloads at once', async () => {
    const { id, downloadUrl, file } = await upload(['-F', 'maxDownloads=1'])
    s3.pause()
    try {
      const during = await curl(['-L', '-o', tempPath(`outage-${id}`), downloadUrl])
      expect(during.status).toBe(503)
      expect(JSON.parse(readFileSync(tempPath(`outage-${id}`), 'utf8'))).toMatchObject({
        error: { code: 'storage_unavailable' },
      })
      // the share page (database only) still answers, and still offers the download
      const meta = await server.fetch(`/api/shares/${id}`)
      expect(meta.status).toBe(200)
      expect(((await meta.json()) as { downloadsLeft: number }).downloadsLeft).toBe(1)
    } finally {
      s3.resume()
    }
    expect(await counted(id)).toEqual({ downloads: 0, events: 0 })
    // the lease was given back: no waiting for it to lapse
    const out = tempPath(`after-${id}`)
    expect((await curl(['-L', '-o', out, downloadUrl])).status).toBe(200)
    expect(await sha256File(out)).toBe(file.sha256)
    expect(await counted(id)).toEqual({ downloads: 1, events: 1 })
  })

  it('S3 frozen during 12 owner deletes: each share answers 404 at once, database-only reads keep working, no share stays ready with its file gone', async () => {
    const doomed = await Promise.all(Array.from({ length: 12 }, () => upload()))
    const bystander = await upload()
    const keys = async (id: string) => (await server.deps.db.query<{ storage_key: string }>(`SELECT storage_key FROM files WHERE share_id = $1`, [id])).map((r) => r.storage_key)
    s3.pause()
    let answers: number[]
    try {
      const deletes = doomed.map((d) => server.fetch(`/api/shares/${d.id}`, { method: 'DELETE', headers: { 'x-owner-token': d.ownerToken } }).then((r) => r.status))
      // Claimed before storage is touched: gone for recipients while the blob deletes hang.
      await expect
        .poll(async () => (await Promise.all(doomed.map((d) => server.fetch(`/api/shares/${d.id}`).then((r) => r.status)))).every((st) => st === 404), { timeout: 5000, interval: 100 })
        .toBe(true)
      // No database connection waits on S3: reads that need only the database keep answering.
      for (let i = 0; i < 15; i++) expect((await server.fetch(`/api/shares/${bystander.id}`)).status).toBe(200)
      const statuses = await server.deps.db.query<{ status: string }>(`SELECT status FROM shares WHERE id = ANY($1::text[])`, [doomed.map((d) => d.id)])
      expect(new Set(statuses.map((r) => r.status))).toEqual(new Set(['deleting']))
      await new Promise((r) => setTimeout(r, 1000))
      s3.resume()
      answers = await Promise.all(deletes)
    } finally {
      s3.resume()
    }
    expect(answers).toEqual(Array(12).fill(204))
    // What storage could not do during the outage, the janitor finishes (after the back-off).
    await server.deps.db.query(`UPDATE shares SET delete_after = now() WHERE status = 'deleting'`)
    await new Janitor(server.deps).runOnce()
    for (const d of doomed) {
      const [row] = await server.deps.db.query<{ status: string }>(`SELECT status FROM shares WHERE id = $1`, [d.id])
      expect(row!.status).toBe('deleted')
      for (const key of await keys(d.id)) expect(await server.deps.store.head(key)).toBeNull()
    }
    // and the bystander is whole
    for (const key of await keys(bystander.id)) expect(await server.deps.store.head(key)).toEqual({ size: 100_000 })
    expect((await curl(['-L', '-o', tempPath(`bystander-${bystander.id}`), bystander.downloadUrl])).status).toBe(200)
  })
})
