/**
 * docker-compose.yml cannot be run here (no docker engine), so it is read: Redis keeps its
 * password and stays inside the compose network, and the shipped command lines run for real.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { startTestServer } from './support/harness'
import { freePort } from './support/services'

interface Service {
  ports?: string[]
  environment?: Record<string, string>
  command?: string[]
  network_mode?: string
  volumes?: string[]
}
const compose = parse(readFileSync(fileURLToPath(new URL('../../docker-compose.yml', import.meta.url)), 'utf8')) as { services: Record<string, Service> }
const { app, redis, postgres, coturn } = compose.services as Record<'app' | 'redis' | 'postgres' | 'coturn', Service>

/** Compose's `${VAR:?message}` and `$$` (a literal `$` for the container's shell), filled in. */
function interpolate(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\{(\w+)(?::[?-][^}]*)?\}/g, (_m, name: string) => vars[name] ?? '').replace(/\$\$/g, '$')
}

const stop: (() => Promise<void> | void)[] = []
afterAll(async () => {
  for (const s of stop.reverse()) await s()
})

describe('docker compose: Redis', () => {
  it('publishes no port for Redis or PostgreSQL: from outside the host neither can be reached', () => {
    expect(redis.ports).toBeUndefined()
    expect(postgres.ports).toBeUndefined()
    expect(redis.network_mode).toBeUndefined()
  })

  it('requires a password, and the app’s REDIS_URL carries it', () => {
    expect(redis.environment?.REDIS_PASSWORD).toMatch(/^\$\{REDIS_PASSWORD:\?/)
    expect(redis.command?.join(' ')).toContain('--requirepass "$$REDIS_PASSWORD"')
    expect(app.environment?.REDIS_URL).toMatch(/^redis:\/\/:\$\{REDIS_PASSWORD:\?[^}]*\}@redis:6379$/)
  })

  it('the shipped Redis command, run for real: a client without the password is refused, the app with REDIS_URL works', async () => {
    const password = randomBytes(24).toString('hex')
    const port = await freePort()
    const dir = mkdtempSync(join(tmpdir(), 'sharesync-compose-redis-'))
    // The service's `sh -c "exec redis-server …"`, with the test's port, address and directory appended.
    const script = `${interpolate(redis.command![2]!, {})} --port ${port} --bind 127.0.0.1 --dir ${dir}`
    const proc = spawn('sh', ['-c', script], { env: { ...process.env, REDIS_PASSWORD: password }, stdio: 'ignore' })
    stop.push(async () => {
      const exited = new Promise((r) => proc.once('exit', r))
      proc.kill('SIGTERM')
      await exited
      rmSync(dir, { recursive: true, force: true })
    })
    // Commands wait in the offline queue until the server is up.
    const anonymous = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: null, retryStrategy: () => 100 })
    anonymous.on('error', () => undefined)
    stop.push(() => anonymous.disconnect())
    await expect(anonymous.get('rl:anything')).rejects.toThrow(/NOAUTH/)

    const url = interpolate(app.environment!.REDIS_URL!, { REDIS_PASSWORD: password }).replace('@redis:6379', `@127.0.0.1:${port}`)
    const server = await startTestServer({ REDIS_URL: url })
    stop.push(() => server.close())
    const health = (await (await server.fetch('/api/health')).json()) as { status: string; redis: boolean }
    expect(health).toMatchObject({ status: 'ok', redis: true })
  }, 120_000)
})

describe('docker compose: coturn', () => {
  it('runs the shipped turnserver.conf (the one the coturn test starts)', () => {
    expect(coturn.volumes).toContain('./docker/coturn/turnserver.conf:/etc/coturn/turnserver.conf:ro')
  })
})
