import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../src/config'
import { curl, randomFile } from './support/files'
import { captureLogs } from './support/logs'
import { startTestServer, type TestServer } from './support/harness'
import { createDatabase, freePort, startPostgres, startRedis, startS3, type ServiceHandle } from './support/services'

const ROOT = new URL('../../', import.meta.url).pathname
const upload = (server: TestServer, headers: Record<string, string> = {}) =>
  server.fetch('/api/upload/x.txt', { method: 'PUT', body: 'hello', headers })
const forwardingWarnings = (logs: ReturnType<typeof captureLogs>) =>
  logs.lines.filter((l) => l.level === 40 && String(l.msg).includes('X-Forwarded-For'))

describe('configuration', () => {
  it('a wrong environment stops startup with every problem listed', () => {
    let error: ConfigError | undefined
    try {
      loadConfig({ PORT: 'eighty', STORAGE: 's3', MAX_FILE_SIZE: 'big', UPLOAD_RATE_LIMIT: 'lots', DATABASE_URL: 'mysql://x', DATA_DIR: tmpdir() })
    } catch (err) {
      error = err as ConfigError
    }
    expect(error).toBeInstanceOf(ConfigError)
    const text = error!.problems.join('\n')
    for (const name of ['PORT', 'MAX_FILE_SIZE', 'UPLOAD_RATE_LIMIT', 'DATABASE_URL', 'S3_BUCKET', 'S3_ACCESS_KEY_ID']) expect(text).toContain(name)
  })

  it('the config is frozen and parses sizes, durations and rates', () => {
    const config = loadConfig({ MAX_FILE_SIZE: '5GiB', MAX_EXPIRY: '7d', UPLOAD_RATE_LIMIT: '3/15m', DATA_DIR: tmpdir(), SESSION_SECRET: 's'.repeat(32) })
    expect(config.policy.user.maxFileSize).toBe(5 * 2 ** 30)
    expect(config.policy.user.maxExpiry).toBe(7 * 86400)
    expect(config.rateLimits.upload).toEqual({ points: 3, seconds: 900 })
    expect(Object.isFrozen(config.policy.user)).toBe(true)
  })
})

describe('rate limits', () => {
  let server: TestServer
  const logs = captureLogs()
  beforeAll(async () => {
    server = await startTestServer({ UPLOAD_RATE_LIMIT: '3/1h' }, { logger: logs.logger })
  })
  afterAll(() => server?.close())

  it('a burst over UPLOAD_RATE_LIMIT gets 429 with Retry-After and RateLimit-* headers', async () => {
    const statuses = []
    for (let i = 0; i < 4; i++) statuses.push(await upload(server))
    expect(statuses.map((r) => r.status)).toEqual([201, 201, 201, 429])
    const limited = statuses[3]!
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(3000)
    expect(limited.headers.get('ratelimit-limit')).toBe('3')
    expect(limited.headers.get('ratelimit-remaining')).toBe('0')
    expect(await limited.json()).toEqual({ error: { code: 'rate_limited', message: expect.any(String) } })
  })

  it('with TRUST_PROXY off (the default), a forged X-Forwarded-For changes nothing', async () => {
    const res = await upload(server, { 'x-forwarded-for': '203.0.113.9' })
    expect(res.status).toBe(429)
  })

  it('X-Forwarded-For from a peer TRUST_PROXY does not trust is warned about in the log once, naming the peer, not once per request', async () => {
    for (const ip of ['203.0.113.10', '203.0.113.11', '203.0.113.12']) await server.fetch('/api/config', { headers: { 'x-forwarded-for': ip } })
    const warnings = forwardingWarnings(logs)
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatchObject({ peer: '127.0.0.1', trustProxy: 'off' })
    expect(String(warnings[0]!.msg)).toContain('TRUST_PROXY=127.0.0.1')
  })
})

describe('rate limits behind a trusted proxy', () => {
  it('with TRUST_PROXY=loopback, each forwarded client has its own budget (and the proxy is not warned about)', async () => {
    const logs = captureLogs()
    const server = await startTestServer({ UPLOAD_RATE_LIMIT: '1/1h', TRUST_PROXY: 'loopback' }, { logger: logs.logger })
    try {
      expect((await upload(server, { 'x-forwarded-for': '198.51.100.1' })).status).toBe(201)
      expect((await upload(server, { 'x-forwarded-for': '198.51.100.1' })).status).toBe(429)
      expect((await upload(server, { 'x-forwarded-for': '198.51.100.2' })).status).toBe(201)
      expect(forwardingWarnings(logs)).toEqual([])
    } finally {
      await server.close()
    }
  })
})

describe('with Redis', () => {
  let redis: ServiceHandle
  let a: TestServer
  let b: TestServer
  beforeAll(async () => {
    redis = await startRedis()
    a = await startTestServer({ REDIS_URL: redis.url, UPLOAD_RATE_LIMIT: '2/1h' })
    b = await startTestServer({ REDIS_URL: redis.url, UPLOAD_RATE_LIMIT: '2/1h' })
  })
  afterAll(async () => {
    await a?.close()
    await b?.close()
    await redis?.stop()
  })

  it('two instances share one upload budget per client', async () => {
    expect((await upload(a)).status).toBe(201)
    expect((await upload(b)).status).toBe(201)
    expect((await upload(a)).status).toBe(429)
    expect((await upload(b)).status).toBe(429)
    expect(await (await a.fetch('/api/health')).json()).toMatchObject({ status: 'ok', redis: true })
  })

  it('Redis frozen: instances stay ready (degraded), uploads go on under a per-instance limit; after it thaws the shared count is back', async () => {
    redis.pause()
    try {
      await expect.poll(async () => ((await (await a.fetch('/api/health/ready')).json()) as { status: string }).status, { timeout: 10_000 }).toBe('degraded')
      const health = await a.fetch('/api/health/ready')
      expect(health.status).toBe(200)
      expect(await health.json()).toMatchObject({ status: 'degraded', degraded: ['redis'] })
      // The shared budget (2) is used up, but while Redis is away each instance counts on its own.
      expect([(await upload(a)).status, (await upload(a)).status, (await upload(a)).status]).toEqual([201, 201, 429])
    } finally {
      redis.resume()
    }
    await expect.poll(async () => ((await (await a.fetch('/api/health/ready')).json()) as { status: string }).status, { timeout: 10_000 }).toBe('ok')
    expect((await upload(b)).status).toBe(429)
  })
})

describe('outages', () => {
  it('storage stopped: readiness 503 naming storage (liveness stays 200), uploads 503; after restart they work again', async () => {
    const s3 = await startS3()
    const server = await startTestServer(s3.env)
    try {
      expect((await server.fetch('/api/health/ready')).status).toBe(200)
      await s3.halt()
      await expect.poll(async () => (await server.fetch('/api/health/ready')).status, { timeout: 10_000 }).toBe(503)
      const health = await server.fetch('/api/health/ready')
      expect(await health.json()).toMatchObject({ status: 'unavailable', storage: 's3', failing: ['storage'], error: { code: 'storage_unavailable' } })
      expect((await server.fetch('/api/health')).status).toBe(200)
      const put = await upload(server)
      expect(put.status).toBe(503)
      expect(((await put.json()) as { error: { code: string } }).error.code).toBe('storage_unavailable')
      const browser = await server.fetch('/api/shares', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ files: [{ name: 'a', size: 10 }] }) })
      expect(browser.status).toBe(503)
      await s3.restart()
      await expect.poll(async () => (await server.fetch('/api/health/ready')).status, { timeout: 10_000 }).toBe(200)
      expect((await upload(server)).status).toBe(201)
    } finally {
      await server.close()
      await s3.stop()
    }
  })

  it('PostgreSQL stopped: readiness 503 naming the database, uploads 503; after restart they work again', async () => {
    const pg = await startPostgres()
    const server = await startTestServer({ DATABASE_URL: await createDatabase(pg.url, 'outage') })
    try {
      expect((await upload(server)).status).toBe(201)
      await pg.halt()
      await expect.poll(async () => (await server.fetch('/api/health/ready')).status, { timeout: 10_000 }).toBe(503)
      const health = await server.fetch('/api/health/ready')
      expect(await health.json()).toMatchObject({ db: 'postgres', failing: ['db'], error: { code: 'database_unavailable' } })
      const put = await upload(server)
      expect(put.status).toBe(503)
      expect(((await put.json()) as { error: { code: string } }).error.code).toBe('database_unavailable')
      await pg.restart()
      await expect.poll(async () => (await server.fetch('/api/health/ready')).status, { timeout: 10_000 }).toBe(200)
      expect((await upload(server)).status).toBe(201)
    } finally {
      await server.close()
      await pg.stop()
    }
  })
})

describe('process', () => {
  it('SIGTERM lets an in-flight upload finish, then exits 0', async () => {
    const port = await freePort()
    const dataDir = mkdtempSync(join(tmpdir(), 'sharesync-sigterm-'))
    const proc = spawn(join(ROOT, 'node_modules/.bin/tsx'), ['src/main.ts'], {
      cwd: join(ROOT, 'backend'),
      env: { PATH: process.env.PATH, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()))
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()))
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)))
    try {
      const url = `http://127.0.0.1:${port}`
      // The banner is printed once the server listens and its start-up logs are out: wait for both.
      const ready = async () => out.includes('ShareSync is running') && (await fetch(`${url}/api/health`).then((r) => r.ok, () => false))
      for (let i = 0; i < 600 && !(await ready()); i++) await new Promise((r) => setTimeout(r, 100))
      expect(out).toContain('ShareSync is running')
      const file = randomFile(8 * 2 ** 20, 'slow.bin')
      // a slow upload (1 MB/s) in flight when SIGTERM arrives
      const inFlight = curl(['--limit-rate', '1M', '-T', file.path, `${url}/api/upload/slow.bin`])
      await new Promise((r) => setTimeout(r, 1500))
      proc.kill('SIGTERM')
      const result = await inFlight
      expect(result.status).toBe(201)
      expect(await exited).toBe(0)
      // and it no longer accepts connections
      expect(await fetch(`${url}/api/health`).then(() => 'up', () => 'down')).toBe('down')
    } finally {
      proc.kill('SIGKILL')
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})

describe('quotas and logs', () => {
  it('the daily byte quota per client refuses an upload that would exceed it, with 413 quota_exceeded', async () => {
    const server = await startTestServer({ ANON_DAILY_QUOTA: '1MiB' })
    try {
      const declare = (size: number) =>
        server.fetch('/api/shares', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ files: [{ name: 'q', size }] }) })
      expect((await declare(700 * 1024)).status).toBe(201)
      const over = await declare(400 * 1024)
      expect(over.status).toBe(413)
      expect(((await over.json()) as { error: { code: string } }).error.code).toBe('quota_exceeded')
      expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0)
      // a failed attempt does not eat the rest of the quota
      expect((await declare(300 * 1024)).status).toBe(201)
    } finally {
      await server.close()
    }
  })

  it('logs carry request ids but never passwords, owner tokens or signed URLs', async () => {
    const lines: string[] = []
    const { pino } = await import('pino')
    const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) })
    const server = await startTestServer({}, { logger })
    try {
      const up = await server.fetch('/api/upload/secret.txt?password=hunter2-secret', { method: 'PUT', body: 'x' })
      const { id, ownerToken } = (await up.json()) as { id: string; ownerToken: string }
      const dl = await server.fetch(`/api/shares/${id}/download`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-share-password': 'hunter2-secret' }, body: '{}' })
      const { url } = (await dl.json()) as { url: string }
      await fetch(url)
      await server.fetch(`/api/shares/${id}`, { method: 'DELETE', headers: { 'x-owner-token': ownerToken } })
      const text = lines.join('')
      const requestId = up.headers.get('x-request-id')!
      expect(requestId).toMatch(/^[0-9a-f-]{36}$/)
      expect(text).toContain(`"id":"${requestId}"`)
      expect(text).not.toContain('hunter2-secret')
      expect(text).not.toContain(ownerToken)
      expect(text).not.toContain(new URL(url).search.slice(1))
      expect(text).not.toMatch(/sig=|X-Amz-Signature/)
    } finally {
      await server.close()
    }
  })
})

describe('shutdown with keep-alive clients', () => {
  it('close() finishes even while clients keep sending requests back to back on open connections', async () => {
    const server = await startTestServer({ UPLOAD_RATE_LIMIT: '100000/1h' })
    let stop = false
    let refused = 0
    const body = new Uint8Array(256 * 1024)
    // like a browser uploading parts: 4 keep-alive connections, each sending the next request at once
    const loops = Array.from({ length: 4 }, async () => {
      while (!stop) {
        const res = await server.fetch('/api/upload/part.bin', { method: 'PUT', body }).catch(() => null)
        if (!res) refused++
        else await res.arrayBuffer()
      }
    })
    await new Promise((r) => setTimeout(r, 500))
    const started = Date.now()
    const closed = server.close().then(() => Date.now() - started)
    const took = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(Infinity), 8000))])
    stop = true
    await Promise.all(loops)
    expect(took).toBeLessThan(8000)
    expect(refused).toBeGreaterThan(0)
  })
})
