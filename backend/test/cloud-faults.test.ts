/**
 * Cloud links while storage misbehaves: a real s3rver child process, frozen with SIGSTOP, in front of
 * real PostgreSQL and the real server. What an operator would notice: one-time links that survive an
 * outage, and deletes that leave nothing half-done.
 */
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { curl, randomFile, sha256File, tempPath } from './support/files'
import { startTestServer, type TestServer } from './support/harness'
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
    const file = randomFile(100_000, 'outage.bin')
    const up = await curl([...options, '-F', `file=@${file.path}`, `${server.url}/api/upload`])
    expect(up.status).toBe(201)
    return { ...(JSON.parse(up.body) as { id: string; downloadUrl: string; ownerToken: string }), file }
  }
  const counted = async (id: string) =>
    (await server.deps.db.query<{ downloads: number; events: number }>(
      `SELECT downloads, (SELECT count(*) FROM download_events WHERE share_id = $1)::int AS events FROM shares WHERE id = $1`,
      [id],
    ))[0]

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
})
