/**
 * Health a balancer can trust: liveness never touches a dependency; readiness probes each one at
 * most once per few seconds however many requests ask, and a hung dependency is cut off at the
 * probe timeout (and the probe itself cancelled) instead of piling up calls.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HealthChecks } from '../src/ops/health'
import { startTestServer, type TestServer } from './support/harness'
import { startS3 } from './support/services'

type S3 = Awaited<ReturnType<typeof startS3>>

describe('readiness on S3', () => {
  let s3: S3
  let server: TestServer
  let pings = 0
  let lastSignal: AbortSignal | undefined
  let settled: Promise<unknown> = Promise.resolve()
  beforeAll(async () => {
    s3 = await startS3()
    // A per-address connection cap far below the checks' connections (all from 127.0.0.1): probes
    // over the cap must be answered too, as a balancer's would be while its address is busy.
    server = await startTestServer({ ...s3.env, MAX_CONNECTIONS_PER_ADDRESS: '16' })
    // Count the probes the real S3 store receives (the store itself is untouched).
    const store = server.deps.store
    const ping = store.ping.bind(store)
    store.ping = (signal?: AbortSignal) => {
      pings++
      lastSignal = signal
      const p = ping(signal)
      settled = p.catch(() => undefined)
      return p
    }
  })
  afterAll(async () => {
    await server?.close()
    await s3?.stop()
  })

  it('300 concurrent readiness checks while serving, from one address far over its connection cap: all 200, and storage is probed once per cache period, not 300 times', async () => {
    const before = pings
    const started = Date.now()
    const statuses = await Promise.all(Array.from({ length: 300 }, async () => (await server.fetch('/api/health/ready')).status))
    expect(new Set(statuses)).toEqual(new Set([200]))
    // At most once per cache period (3 s): on a slow machine the 300 checks may outlast one.
    expect(pings - before).toBeLessThanOrEqual(1 + Math.floor((Date.now() - started) / 3000))
  })

  it('S3 hung (SIGSTOP): 200 concurrent checks all answer 503 storage_unavailable, from one probe that is cancelled; liveness stays 200', async () => {
    // Past the cache of the previous test's answer.
    await new Promise((r) => setTimeout(r, 3100))
    s3.pause()
    try {
      const before = pings
      const answers = await Promise.all(
        Array.from({ length: 200 }, async () => {
          const res = await server.fetch('/api/health/ready')
          return `${res.status} ${((await res.json()) as { error?: { code: string } }).error?.code}`
        }),
      )
      expect(new Set(answers)).toEqual(new Set(['503 storage_unavailable']))
      expect(pings - before).toBe(1)
      await settled
      expect(lastSignal?.aborted).toBe(true)
      expect((await server.fetch('/api/health')).status).toBe(200)
    } finally {
      s3.resume()
    }
    await expect.poll(async () => (await server.fetch('/api/health/ready')).status, { timeout: 10_000 }).toBe(200)
  })
})

describe('readiness while shutting down', () => {
  it('once shutdown begins, readiness answers "draining" while liveness still answers', async () => {
    const server = await startTestServer()
    try {
      const health = new HealthChecks(server.deps)
      expect(await health.readiness()).toEqual({ ready: true, draining: false, failing: [], degraded: [] })
      health.drain()
      expect(await health.readiness()).toEqual({ ready: false, draining: true, failing: [], degraded: [] })
    } finally {
      await server.close()
    }
  })

  it('liveness and readiness on the embedded default name the database and the store', async () => {
    const server = await startTestServer()
    try {
      expect(await (await server.fetch('/api/health')).json()).toEqual({ status: 'ok', db: 'pglite', storage: 'disk', redis: false })
      expect(await (await server.fetch('/api/health/ready')).json()).toEqual({ status: 'ok', db: 'pglite', storage: 'disk', redis: false })
    } finally {
      await server.close()
    }
  })
})
