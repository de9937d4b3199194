/**
 * The compose file cannot run here (no Docker engine): its health and shutdown settings are read
 * and checked against what the app does.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { loadConfig } from '../src/config'

const ROOT = new URL('../../', import.meta.url)
interface Service {
  healthcheck?: { test: string[] }
  stop_grace_period?: string
}
const compose = parse(readFileSync(new URL('docker-compose.yml', ROOT), 'utf8')) as { services: Record<string, Service> }
const seconds = (d: string) => Number(/^(\d+)s$/.exec(d)?.[1] ?? NaN)

describe('docker compose', () => {
  it('the app is healthy only while it is ready (its readiness route), not merely alive', () => {
    expect(compose.services.app!.healthcheck!.test.join(' ')).toContain('/api/health/ready')
  })

  it('docker waits longer than the shutdown drain before it kills the app, so in-flight uploads finish', () => {
    const drain = loadConfig({ DATA_DIR: '/tmp', SESSION_SECRET: 's'.repeat(32) }).shutdownTimeoutMs / 1000
    expect(seconds(compose.services.app!.stop_grace_period ?? '10s')).toBeGreaterThan(drain)
  })
})

describe('Socket.IO transports', () => {
  const base = { DATA_DIR: '/tmp', SESSION_SECRET: 's'.repeat(32) }
  it('several instances (REDIS_URL) speak WebSocket only, so a round-robin balancer needs no sticky sessions', () => {
    expect(loadConfig({ ...base, REDIS_URL: 'redis://127.0.0.1:6379' }).socketTransports).toEqual(['websocket'])
    expect(loadConfig(base).socketTransports).toEqual(['websocket', 'polling'])
    expect(loadConfig({ ...base, REDIS_URL: 'redis://127.0.0.1:6379', SOCKET_TRANSPORTS: 'websocket, polling' }).socketTransports).toEqual(['websocket', 'polling'])
  })

  it('an unknown transport stops startup with the variable named', () => {
    expect(() => loadConfig({ ...base, SOCKET_TRANSPORTS: 'websocket,carrier-pigeon' })).toThrow(/SOCKET_TRANSPORTS/)
  })
})
