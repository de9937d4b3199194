/**
 * The database goes away under traffic: restarted, frozen, or so busy that the pool runs dry. The
 * instances must live through it, answer 503 database_unavailable (never 500, never a hang past
 * the configured timeouts) while it lasts, and serve again by themselves once it is back.
 */
import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { consistencyProblems, type StoreLayout } from './support/consistency'
import { startLoad, unexpected } from './support/load'
import { errorCode, uploadText, type Uploaded } from './support/shares'
import { alive, freeze, startCluster, thaw, type Cluster } from './support/stack'

let cluster: Cluster
let layout: StoreLayout
const shares: Uploaded[] = []
const urls = () => cluster.apps.map((a) => a.url)
const metadataStatus = (base: string, id: string) => fetch(`${base}/api/shares/${id}`).then((r) => r.status, () => 0)

beforeAll(async () => {
  // The reconciler runs every second with a short grace, so the last check can wait for it.
  cluster = await startCluster({ instances: 2, env: { JANITOR_INTERVAL: '1s', RECONCILE_INTERVAL: '1s', ORPHAN_GRACE: '3s' } })
  layout = { kind: 's3', dir: cluster.s3.dir, bucket: cluster.s3.bucket }
  for (let i = 0; i < 6; i++) shares.push(await uploadText(urls()[i % 2]!, `seed-${i}.txt`, `seed ${i}`))
})
afterAll(() => cluster?.stop())
// Nothing lost, nothing half-deleted, after every scenario. (Storage that no row references at all is
// the reconciler's: see the last test.)
afterEach(async () => {
  await expect.poll(() => consistencyProblems(cluster.dbUrl, layout, { orphans: false })).toEqual([])
})

describe('PostgreSQL restarted or frozen', () => {
  it('a PostgreSQL restart under 40 clients: both instances stay up, answer 503 (never 500) meanwhile, and serve again within seconds', async () => {
    const load = startLoad(urls, shares, { clients: 40 })
    await expect.poll(() => load.snapshot().requests).toBeGreaterThan(200)
    await cluster.pg.restart()
    for (const base of urls()) await expect.poll(() => metadataStatus(base, shares[0]!.id)).toBe(200)
    const report = await load.stop()
    expect(cluster.apps.map(alive)).toEqual([true, true])
    expect(unexpected(report, [200, 201, 503])).toEqual({})
    expect(Object.keys(report.codes).filter((c) => c !== 'database_unavailable')).toEqual([])
    for (const base of urls()) expect(await metadataStatus(base, shares[1]!.id)).toBe(200)
  })

  it('a DELETE waiting on a hung S3 while PostgreSQL restarts: the instance lives, the owner gets an answer and can delete again', async () => {
    const share = await uploadText(urls()[0]!, 'doomed.txt', 'delete me')
    const del = (base: string) => fetch(`${base}/api/shares/${share.id}`, { method: 'DELETE', headers: { 'x-owner-token': share.ownerToken } })
    cluster.s3.pause()
    let first: Response
    try {
      const inFlight = del(urls()[0]!)
      // The delete reaches storage (and waits there) before the database goes.
      await new Promise((r) => setTimeout(r, 500))
      await cluster.pg.restart()
      cluster.s3.resume()
      first = await inFlight
    } finally {
      cluster.s3.resume()
    }
    expect(cluster.apps.map(alive)).toEqual([true, true])
    expect([204, 503]).toContain(first.status)
    if (first.status === 503) expect(['database_unavailable', 'storage_unavailable']).toContain(await errorCode(first))
    await expect.poll(async () => (await del(urls()[1]!)).status).toBeOneOf([204, 404])
    expect(await metadataStatus(urls()[0]!, share.id)).toBe(404)
  })

  it('PostgreSQL frozen (SIGSTOP): requests answer 503 database_unavailable within the configured timeouts, and work again when it thaws', async () => {
    freeze(cluster.pg)
    let statuses: { status: number; code: string | undefined }[]
    try {
      statuses = await Promise.all(
        Array.from({ length: 12 }, async (_, i) => {
          const res = await fetch(`${urls()[i % 2]}/api/shares/${shares[i % shares.length]!.id}`, { signal: AbortSignal.timeout(30_000) })
          return { status: res.status, code: await errorCode(res) }
        }),
      )
    } finally {
      thaw(cluster.pg)
    }
    expect(new Set(statuses.map((s) => `${s.status} ${s.code}`))).toEqual(new Set(['503 database_unavailable']))
    expect(cluster.apps.map(alive)).toEqual([true, true])
    for (const base of urls()) await expect.poll(() => metadataStatus(base, shares[0]!.id)).toBe(200)
  })

  it('the pool used up (another session holds a lock): requests answer 503 with Retry-After, not 500 or a hang, and recover when the lock goes', async () => {
    const locker = new pg.Client({ connectionString: cluster.dbUrl })
    await locker.connect()
    let answers: { status: number; code: string | undefined; retryAfter: string | null }[]
    try {
      await locker.query('BEGIN')
      await locker.query('LOCK TABLE shares IN ACCESS EXCLUSIVE MODE')
      // More requests than the pool has connections: some wait for a connection, the rest for the lock.
      answers = await Promise.all(
        Array.from({ length: 16 }, async (_, i) => {
          const res = await fetch(`${urls()[0]}/api/shares/${shares[i % shares.length]!.id}`, { signal: AbortSignal.timeout(30_000) })
          return { status: res.status, code: await errorCode(res), retryAfter: res.headers.get('retry-after') }
        }),
      )
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined)
      await locker.end()
    }
    expect(new Set(answers.map((a) => `${a.status} ${a.code}`))).toEqual(new Set(['503 database_unavailable']))
    expect(answers.every((a) => Number(a.retryAfter) > 0)).toBe(true)
    await expect.poll(() => metadataStatus(urls()[0]!, shares[0]!.id)).toBe(200)
  })
})

describe('after the database faults', () => {
  // An upload in flight when the database went away may leave an object or a multipart upload that
  // no row names: the reconciler removes it once older than ORPHAN_GRACE.
  it('once the reconciler’s grace period has passed, no object or multipart upload is left without a row', async () => {
    await expect.poll(() => consistencyProblems(cluster.dbUrl, layout, { orphans: true }), { timeout: 60_000 }).toEqual([])
  })
})
