/**
 * Rate limits and quotas: one counter contract against every store (memory, Redis, PGlite,
 * PostgreSQL), and what happens to them when Redis goes away or comes back empty.
 */
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectDb } from '../src/db/connect'
import type { Db } from '../src/db/db'
import { counterContract } from '../src/limits/counter.contract'
import { DatabaseCounter, RateCounter } from '../src/limits/counters'
import { createDatabase, startPostgres, startRedis, type ServiceHandle } from './support/services'

const redisClient = (url: string) => {
  const r = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 3000, commandTimeout: 2000, lazyConnect: true })
  r.on('error', () => undefined)
  return r
}

counterContract('memory', { shared: false }, async () => ({ open: (p, s) => new RateCounter(p, s), close: async () => undefined }))

counterContract('Redis', { shared: true }, async () => {
  const redis = await startRedis()
  const client = redisClient(redis.url)
  await client.connect()
  return {
    open: (p, s) => new RateCounter(p, s, client),
    close: async () => {
      client.disconnect()
      await redis.stop()
    },
  }
})

counterContract('PGlite', { shared: true }, async () => {
  const db = await connectDb({ kind: 'pglite', dir: 'memory://' })
  return { open: (p, s) => new DatabaseCounter(db, p, s), close: () => db.close() }
})

counterContract('PostgreSQL', { shared: true }, async () => {
  const pg = await startPostgres()
  const db = await connectDb({ kind: 'postgres', url: await createDatabase(pg.url, 'counters') })
  return {
    open: (p, s) => new DatabaseCounter(db, p, s),
    close: async () => {
      await db.close()
      await pg.stop()
    },
  }
})

describe('rate limits while Redis is away', () => {
  let redis: ServiceHandle
  let client: Redis
  beforeAll(async () => {
    redis = await startRedis()
    client = redisClient(redis.url)
    await client.connect()
  })
  afterAll(async () => {
    client?.disconnect()
    await redis?.stop()
  })

  it('Redis stopped: each instance keeps limiting on its own (3 allowed, the 4th refused), instead of refusing everything', async () => {
    const c = new RateCounter('away', 60, client)
    await redis.halt()
    try {
      await expect.poll(() => client.status, { timeout: 10_000 }).not.toBe('ready')
      const taken = []
      for (let i = 0; i < 4; i++) taken.push((await c.take('client-1', 1, 3)).allowed)
      expect(taken).toEqual([true, true, true, false])
    } finally {
      await redis.restart()
    }
    await expect.poll(() => client.status, { timeout: 10_000 }).toBe('ready')
  })

  it('Redis frozen (SIGSTOP): a take answers from the per-instance count instead of hanging', async () => {
    const c = new RateCounter('frozen', 60, client)
    redis.pause()
    try {
      const taken = await Promise.all([c.take('client-2', 1, 1), c.take('client-3', 1, 1)])
      expect(taken.map((t) => t.allowed)).toEqual([true, true])
    } finally {
      redis.resume()
    }
  })
})

describe('quotas and Redis', () => {
  let db: Db
  beforeAll(async () => {
    db = await connectDb({ kind: 'pglite', dir: 'memory://' })
  })
  afterAll(() => db?.close())

  it('a refused quota takes nothing: 1 MB left stays 1 MB left after a 2 MB upload is refused', async () => {
    const c = new DatabaseCounter(db, 'q', 86_400)
    expect((await c.take('client', 9_000_000, 10_000_000)).allowed).toBe(true)
    expect((await c.take('client', 2_000_000, 10_000_000)).allowed).toBe(false)
    expect((await c.take('client', 1_000_000, 10_000_000))).toMatchObject({ allowed: true, used: 10_000_000 })
  })
})
