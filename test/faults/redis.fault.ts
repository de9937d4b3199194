/**
 * Redis goes away: it accelerates (shared rate limits, rooms across instances) but nothing may
 * depend on it to serve cloud links. While it is stopped every instance keeps serving with
 * per-instance rate limits; the daily quota, which lives in the database, survives Redis coming
 * back empty; an instance starts while Redis is down.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { connectRooms, nextEvent, type RoomsClient } from '../../backend/test/support/rooms-client'
import { consistencyProblems, type StoreLayout } from './support/consistency'
import { startLoad, unexpected } from './support/load'
import { errorCode, uploadText, type Uploaded } from './support/shares'
import { alive, startCluster, type Cluster } from './support/stack'

let cluster: Cluster
let layout: StoreLayout
const shares: Uploaded[] = []
const urls = () => cluster.apps.map((a) => a.url)
const readiness = async (base: string) => ((await (await fetch(`${base}/api/health/ready`)).json()) as { status: string }).status

beforeAll(async () => {
  cluster = await startCluster({ instances: 2, env: { TRUST_PROXY: 'loopback', ANON_DAILY_QUOTA: '1MiB' } })
  layout = { kind: 's3', dir: cluster.s3.dir, bucket: cluster.s3.bucket }
  for (let i = 0; i < 4; i++) shares.push(await uploadText(urls()[i % 2]!, `seed-${i}.txt`, `seed ${i}`))
})
afterAll(() => cluster?.stop())
afterEach(async () => {
  await expect.poll(() => consistencyProblems(cluster.dbUrl, layout, { orphans: false })).toEqual([])
})

describe('Redis stopped or restarted empty', () => {
  it('Redis stopped: downloads and uploads keep working on every instance (no 503), which stay ready, degraded', async () => {
    const load = startLoad(urls, shares, { clients: 20 })
    await expect.poll(() => load.snapshot().requests).toBeGreaterThan(100)
    await cluster.redis!.halt()
    try {
      for (const base of urls()) await expect.poll(() => readiness(base)).toBe('degraded')
      const during = load.snapshot().requests
      await expect.poll(() => load.snapshot().requests).toBeGreaterThan(during + 300)
      for (const base of urls()) {
        const res = await fetch(`${base}/api/shares/${shares[0]!.id}/download`, { redirect: 'manual' })
        expect(res.status).toBe(302)
      }
    } finally {
      await cluster.redis!.restart()
    }
    for (const base of urls()) await expect.poll(() => readiness(base)).toBe('ok')
    const report = await load.stop()
    expect(cluster.apps.map(alive)).toEqual([true, true])
    expect(unexpected(report, [200, 201])).toEqual({})
  })

  it('the daily upload quota survives Redis restarting with no data: a client over its quota stays refused', async () => {
    const client = { 'x-forwarded-for': '198.51.100.7' }
    const put = (base: string, bytes: number) => fetch(`${base}/api/upload/q.bin`, { method: 'PUT', body: Buffer.alloc(bytes, 1), headers: client })
    expect((await put(urls()[0]!, 700 * 1024)).status).toBe(201)
    await cluster.redis!.restart() // no persistence configured: it comes back empty
    const over = await put(urls()[1]!, 700 * 1024)
    expect(over.status).toBe(413)
    expect(await errorCode(over)).toBe('quota_exceeded')
    expect((await put(urls()[1]!, 200 * 1024)).status).toBe(201)
  })

  it('an instance started while Redis is down serves cloud links, and is fully ready once Redis is back', async () => {
    await cluster.redis!.halt()
    try {
      const late = await cluster.startInstance(2)
      expect(await readiness(late.url)).toBe('degraded')
      const share = await uploadText(late.url, 'late.txt', 'started without redis')
      expect((await fetch(`${urls()[0]}/api/shares/${share.id}/download`, { redirect: 'manual' })).status).toBe(302)
    } finally {
      await cluster.redis!.restart()
    }
    await expect.poll(() => readiness(cluster.apps[2]!.url)).toBe('ok')
    await cluster.apps[2]!.stop()
    cluster.apps.pop()
  })
})

describe('rooms and Redis', () => {
  const sockets: RoomsClient[] = []
  afterAll(() => sockets.forEach((s) => s.disconnect()))

  it('after Redis restarts empty, a room with a device on each instance signals again by itself (or is closed with room:closed)', async () => {
    const [a, b] = [await connectRooms(urls()[0]!), await connectRooms(urls()[1]!)]
    sockets.push(a, b)
    const created = await a.emitWithAck('room:create', { name: 'A' })
    if (!created.ok) throw new Error(created.error.message)
    const joined = await b.emitWithAck('room:join', { secret: created.room.secret, name: 'B' })
    if (!joined.ok) throw new Error(joined.error.message)
    const closed = nextEvent(a, 'room:closed', 30_000).then(() => 'closed' as const)
    await cluster.redis!.restart()
    // What a page does while it negotiates: it sends its signals again until the other side answers.
    let stop = false
    const delivered = nextEvent(b, 'signal', 30_000).then(() => 'signaled' as const)
    const resend = (async () => {
      while (!stop) {
        await a.timeout(2000).emitWithAck('signal', { to: joined.self.peerId, data: { sdp: 'after the restart' } }).catch(() => null)
        await new Promise((r) => setTimeout(r, 300))
      }
    })()
    const outcome = await Promise.race([closed, delivered])
    stop = true
    await resend
    expect(['closed', 'signaled']).toContain(outcome)
  })
})
