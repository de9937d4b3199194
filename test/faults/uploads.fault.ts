/**
 * Uploads cut by a crash (kill -9, no graceful shutdown): a curl upload streaming into S3 or onto
 * the disk store, and a browser upload killed between storage's completion and the database's.
 * Nothing half-made may stay: no share visible without its bytes, no multipart upload or temp file
 * left for good, and a completion cut midway can be retried until the share is ready.
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { request, type ClientRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDatabase, startPostgres, type ServiceHandle } from '../../backend/test/support/services'
import { startApp, type AppProcess } from '../support/app-server'
import { consistencyProblems, diskTempFiles, storeContents, type StoreLayout } from './support/consistency'
import { FAULT_ENV, startCluster, type Cluster } from './support/stack'

/** The instance started after the crash cleans up within seconds instead of a day. */
const SWEEP_SOON = { JANITOR_INTERVAL: '1s', STALE_UPLOAD_AGE: '2s', RECONCILE_INTERVAL: '1s', ORPHAN_GRACE: '2s', TEMP_FILE_MAX_IDLE: '2s' }
const MiB = 2 ** 20
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

/** A curl-style upload (PUT, chunked) that sends `bytes` and then holds the request open. */
function heldUpload(base: string, name: string, bytes: number): ClientRequest {
  const req = request(`${base}/api/upload/${name}`, { method: 'PUT', headers: { 'Transfer-Encoding': 'chunked' } })
  req.on('error', () => undefined)
  for (let sent = 0; sent < bytes; sent += MiB) req.write(randomBytes(MiB))
  return req
}

async function sql<T extends pg.QueryResultRow>(dbUrl: string, text: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: dbUrl })
  await client.connect()
  try {
    return (await client.query<T>(text, params)).rows
  } finally {
    await client.end()
  }
}

const sharesByStatus = async (dbUrl: string) =>
  Object.fromEntries((await sql<{ status: string; n: number }>(dbUrl, 'SELECT status, count(*)::int AS n FROM shares GROUP BY status')).map((r) => [r.status, r.n]))

describe('kill -9 during uploads to S3', () => {
  let cluster: Cluster
  let layout: StoreLayout
  beforeAll(async () => {
    cluster = await startCluster({ instances: 1, redis: false })
    layout = { kind: 's3', dir: cluster.s3.dir, bucket: cluster.s3.bucket }
  })
  afterAll(() => cluster?.stop())

  it('the share is never visible, its multipart upload is recorded before the crash, and the restarted instance aborts it: no part stays in S3', async () => {
    const upload = heldUpload(cluster.apps[0]!.url, 'cut.bin', 24 * MiB)
    try {
      // S3 holds a multipart upload with a part in it: the crash happens mid-stream. (Not as soon as
      // the upload exists: the app records its id between creating it and sending the first part, and
      // a crash in between is the reconciler's case — an upload without a row — not this test's.)
      await expect.poll(() => storeContents(layout).parts, { timeout: 30_000 }).toBeGreaterThan(0)
      expect(storeContents(layout).uploads.size).toBe(1)
      await cluster.apps[0]!.kill()
    } finally {
      upload.destroy()
    }
    // The row knows the multipart upload (so something can abort it), and the share is not ready.
    expect(await consistencyProblems(cluster.dbUrl, layout)).toEqual([])
    expect(await sharesByStatus(cluster.dbUrl)).toEqual({ uploading: 1 })

    await cluster.startInstance(0, SWEEP_SOON)
    await expect.poll(() => storeContents(layout).uploads.size).toBe(0)
    expect(storeContents(layout).objects.size).toBe(0)
    await expect.poll(async () => (await sharesByStatus(cluster.dbUrl)).uploading ?? 0).toBe(0)
    expect(await consistencyProblems(cluster.dbUrl, layout)).toEqual([])
  })

  it('kill -9 between S3 completing a browser upload and the database recording it: the retried complete recognises the object, and the share becomes ready and downloads', async () => {
    const base = cluster.apps[0]!.url
    const bytes = randomBytes(7 * MiB)
    const post = (path: string, body: unknown, token?: string) =>
      fetch(`${cluster.apps[0]!.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { 'x-owner-token': token } : {}) }, body: JSON.stringify(body) })
    const created = (await (await post('/api/shares', { files: [{ name: 'parts.bin', size: bytes.length, type: 'application/octet-stream' }] })).json()) as {
      id: string
      ownerToken: string
      files: { id: string; partSize: number; partCount: number }[]
    }
    const file = created.files[0]!
    const parts = []
    for (let n = 1; n <= file.partCount; n++) {
      const signed = (await (await post(`/api/shares/${created.id}/files/${file.id}/parts`, { partNumbers: [n] }, created.ownerToken)).json()) as { parts: { url: string }[] }
      const put = await fetch(signed.parts[0]!.url, { method: 'PUT', body: bytes.subarray((n - 1) * file.partSize, n * file.partSize) })
      expect(put.status).toBe(200)
      parts.push({ partNumber: n, etag: put.headers.get('etag')! })
    }
    const [{ storage_key: key }] = (await sql<{ storage_key: string }>(cluster.dbUrl, 'SELECT storage_key FROM files WHERE id = $1', [file.id])) as [{ storage_key: string }]

    // Another session holds the file's row: the app's final UPDATE waits, after S3 has completed.
    const locker = new pg.Client({ connectionString: cluster.dbUrl })
    await locker.connect()
    try {
      await locker.query('BEGIN')
      await locker.query('SELECT 1 FROM files WHERE id = $1 FOR UPDATE', [file.id])
      const completing = post(`/api/shares/${created.id}/files/${file.id}/complete`, { parts }, created.ownerToken).catch(() => null)
      await expect.poll(() => storeContents(layout).objects.has(key)).toBe(true)
      await cluster.apps[0]!.kill()
      expect(await completing).toBeNull()
      // PostgreSQL does not notice a dead client while its statement waits for a lock: released now,
      // the dead app's UPDATE would still run. A crash before the UPDATE was sent is the case here,
      // so statements still waiting for the row are ended first.
      const waiting = `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'`
      await expect.poll(async () => (await locker.query<{ n: number }>(waiting)).rows[0]!.n).toBe(0)
      await locker.query('ROLLBACK')
    } finally {
      await locker.end()
    }
    // The crash left storage complete and the database still naming the multipart upload.
    const [row] = await sql<{ upload_id: string | null; completed_at: Date | null }>(cluster.dbUrl, 'SELECT upload_id, completed_at FROM files WHERE id = $1', [file.id])
    expect(row).toMatchObject({ upload_id: expect.any(String), completed_at: null })
    // S3 removes the parts once it has written the object (s3rver: a moment after the object appears).
    await expect.poll(() => storeContents(layout).uploads.size).toBe(0)

    await cluster.startInstance(0)
    expect(cluster.apps[0]!.url).toBe(base)
    const again = await post(`/api/shares/${created.id}/files/${file.id}/complete`, { parts }, created.ownerToken)
    expect(again.status).toBe(200)
    expect(await again.json()).toMatchObject({ size: bytes.length })
    expect((await post(`/api/shares/${created.id}/finalize`, {}, created.ownerToken)).status).toBe(200)
    const got = Buffer.from(await (await fetch(`${base}/api/shares/${created.id}/download`)).arrayBuffer())
    expect(sha(got)).toBe(sha(bytes))
    expect(await consistencyProblems(cluster.dbUrl, layout)).toEqual([])
  })
})

describe('kill -9 during a curl upload to the disk store', () => {
  let postgres: ServiceHandle
  let app: AppProcess
  let dataDir: string
  let dbUrl: string
  let env: Record<string, string>
  beforeAll(async () => {
    // PostgreSQL from the stack (the consistency check reads it directly), files on disk.
    postgres = await startPostgres()
    dbUrl = await createDatabase(postgres.url, 'faults_disk')
    dataDir = mkdtempSync(join(tmpdir(), 'sharesync-faults-disk-'))
    env = { ...FAULT_ENV, DATABASE_URL: dbUrl, STORAGE: 'disk', DATA_DIR: dataDir, SESSION_SECRET: randomBytes(32).toString('hex') }
    app = await startApp(env)
  })
  afterAll(async () => {
    await app?.stop()
    await postgres?.stop()
    if (dataDir) rmSync(dataDir, { recursive: true, force: true })
  })

  it('the share is never visible, and the restarted instance sweeps the dead request’s temp file while running: no residue on disk', async () => {
    const layout: StoreLayout = { kind: 'disk', dir: join(dataDir, 'blobs') }
    const upload = heldUpload(app.url, 'cut.bin', 12 * MiB)
    try {
      await expect.poll(() => diskTempFiles(layout.dir).length).toBe(1)
      await app.kill()
    } finally {
      upload.destroy()
    }
    expect(await sharesByStatus(dbUrl)).toEqual({ uploading: 1 })

    app = await startApp({ ...env, ...SWEEP_SOON }, { port: app.port })
    await expect.poll(() => diskTempFiles(layout.dir)).toEqual([])
    await expect.poll(async () => (await sharesByStatus(dbUrl)).uploading ?? 0).toBe(0)
    expect(storeContents(layout).objects.size).toBe(0)
    expect(await consistencyProblems(dbUrl, layout)).toEqual([])
  })
})
