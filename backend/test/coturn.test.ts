/**
 * The coturn configuration docker compose ships (docker/coturn/turnserver.conf), started for real
 * with Debian's coturn on loopback, with credentials minted by the app (TURN REST): a TURN client
 * cannot get a permission to any private, loopback, CGNAT, unique-local or IPv4-mapped peer.
 *
 * Only CreatePermission is sent for the refused peers: it is answered by the server alone, so no
 * packet ever goes towards those addresses. The one peer data is relayed to is a UDP echo server
 * on 127.0.0.1, allowed by a test-only flag layered on top of the shipped denies.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { iceServers } from '../src/rtc/ice.service'
import { startTestServer } from './support/harness'
import { freePort } from './support/services'
import { TurnClient, type TurnCredentials } from './support/turn-client'

const SHIPPED_CONFIG = fileURLToPath(new URL('../../docker/coturn/turnserver.conf', import.meta.url))
const TURNSERVER = '/usr/bin/turnserver'
const SECRET = 'coturn-test-secret-0123456789'

let coturn: ChildProcess
let logs = ''
let dir: string
let port: number
let echo: UdpSocket
let echoPort: number
const clients: TurnClient[] = []

/** Credentials exactly as GET /api/rtc/ice-servers hands them to a browser. */
function credentials(): TurnCredentials {
  const { iceServers: servers } = iceServers({ stunUrls: [], turnUrls: [`turn:127.0.0.1:${port}`], turnSecret: SECRET, turnTtl: 600 })
  const turn = servers.find((s) => s.username)!
  return { username: turn.username!, password: turn.credential! }
}

async function client(opts: { over?: 'udp' | 'tcp'; host?: string; creds?: TurnCredentials } = {}): Promise<TurnClient> {
  const c = await TurnClient.open({ host: opts.host ?? '127.0.0.1', port }, opts.creds ?? credentials(), opts.over ?? 'udp')
  clients.push(c)
  return c
}

beforeAll(async () => {
  if (!existsSync(TURNSERVER)) throw new Error('coturn is not installed: run scripts/install-test-deps.sh')
  dir = mkdtempSync(join(tmpdir(), 'sharesync-coturn-'))
  port = await freePort()
  const relayBase = 20_000 + Math.floor(Math.random() * 20_000)
  coturn = spawn(
    TURNSERVER,
    [
      '-c', SHIPPED_CONFIG,
      // What docker-compose.yml adds:
      '--use-auth-secret', `--static-auth-secret=${SECRET}`, '--realm=sharesync',
      // Test-only: loopback ports and addresses, no files outside the temp dir.
      `--listening-port=${port}`, '--listening-ip=127.0.0.1', '--listening-ip=::1', '--relay-ip=127.0.0.1', '--relay-ip=::1',
      `--min-port=${relayBase}`, `--max-port=${relayBase + 200}`, `--pidfile=${join(dir, 'turnserver.pid')}`, `--userdb=${join(dir, 'turndb')}`,
      // Test-only: one allowed peer (the echo server below). Loopback is denied by the shipped file;
      // coturn's allowed-peer-ip takes precedence over its denied-peer-ip.
      '--allow-loopback-peers', '--allowed-peer-ip=127.0.0.1',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  coturn.stdout!.on('data', (d: Buffer) => (logs += d.toString()))
  coturn.stderr!.on('data', (d: Buffer) => (logs += d.toString()))
  // Ready when it answers a STUN Binding request.
  const probe = await TurnClient.open({ host: '127.0.0.1', port }, { username: '', password: '' })
  try {
    await probe.binding()
  } catch (err) {
    throw new Error(`coturn did not start: ${String(err)}\n${logs.slice(-2000)}`)
  } finally {
    probe.close()
  }

  echo = createSocket('udp4')
  echo.on('message', (msg, from) => echo.send(Buffer.concat([Buffer.from('echo:'), msg]), from.port, from.address))
  await new Promise<void>((resolve) => echo.bind(0, '127.0.0.1', resolve))
  echoPort = echo.address().port
}, 60_000)

afterAll(async () => {
  for (const c of clients) c.close()
  echo?.close()
  if (coturn && coturn.exitCode === null) {
    const exited = new Promise((resolve) => coturn.once('exit', resolve))
    coturn.kill('SIGTERM')
    await exited
  }
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('the shipped coturn configuration', () => {
  it('refuses permissions (403) to private IPv4 peers: 10.0.0.1, the docker network 172.17.0.2, 192.168.1.1, CGNAT 100.64.0.1, link-local, loopback, multicast', async () => {
    const c = await client()
    const allocation = await c.allocate()
    expect(allocation, allocation.reason).toMatchObject({ ok: true })
    const answers: Record<string, number> = {}
    for (const peer of ['10.0.0.1', '172.17.0.2', '192.168.1.1', '100.64.0.1', '169.254.169.254', '127.0.0.2', '0.0.0.1', '224.0.0.251', '255.255.255.255', '198.18.0.1']) {
      answers[peer] = (await c.createPermission(peer)).code
    }
    expect(answers).toEqual(Object.fromEntries(Object.keys(answers).map((p) => [p, 403])))
  })

  it('refuses permissions (403) to IPv6 peers that reach private networks: fd00::1, IPv4-mapped ::ffff:10.0.0.1, link-local, loopback, NAT64 and 6to4 forms of private IPv4', async () => {
    const c = await client()
    const allocation = await c.allocate({ family: 'ipv6' })
    expect(allocation, `${allocation.code} ${allocation.reason}\n${logs.slice(-1500)}`).toMatchObject({ ok: true })
    expect(allocation.relayed?.ip).toBe('0:0:0:0:0:0:0:1')
    const answers: Record<string, number> = {}
    for (const peer of ['fd00::1', '::ffff:10.0.0.1', '::ffff:127.0.0.1', 'fe80::1', '::1', '64:ff9b::a00:1', '2002:a00:1::1', 'ff02::1', '::a00:1']) {
      answers[peer] = (await c.createPermission(peer)).code
    }
    expect(answers).toEqual(Object.fromEntries(Object.keys(answers).map((p) => [p, 403])))
  })

  it('still relays to an allowed peer: permission granted and a datagram goes through the relay and back', async () => {
    const c = await client()
    expect((await c.allocate()).ok).toBe(true)
    const permission = await c.createPermission('127.0.0.1', echoPort)
    expect(permission, `${permission.code} ${permission.reason}`).toMatchObject({ ok: true, code: 0 })
    const back = c.nextData()
    c.sendIndication('127.0.0.1', echoPort, Buffer.from('hello through TURN'))
    const { from, data } = await back
    expect(from).toEqual({ ip: '127.0.0.1', port: echoPort })
    expect(data.toString()).toBe('echo:hello through TURN')
  })

  it('refuses TCP relays (RFC 6062), which would let a client open TCP connections anywhere', async () => {
    const c = await client({ over: 'tcp' })
    const allocation = await c.allocate({ transport: 'tcp' })
    expect(allocation.ok).toBe(false)
    expect(allocation.code).toBe(442)
  })

  it('refuses a wrong or expired credential (401)', async () => {
    const wrong = await client({ creds: { username: credentials().username, password: 'guessed' } })
    expect((await wrong.allocate()).code).toBe(401)
    const expiredName = `${Math.floor(Date.now() / 1000) - 60}:old`
    const { createHmac } = await import('node:crypto')
    const expired = await client({ creds: { username: expiredName, password: createHmac('sha1', SECRET).update(expiredName).digest('base64') } })
    expect((await expired.allocate()).code).toBe(401)
  })

  it('caps allocations per credential (user-quota=12): the 13th is refused with 486', async () => {
    const creds = credentials()
    const answers = []
    for (let i = 0; i < 13; i++) answers.push((await (await client({ creds })).allocate()).code)
    expect(answers.slice(0, 12)).toEqual(Array(12).fill(0))
    expect(answers[12]).toBe(486)
  })
})

describe('TURN credentials from the app', () => {
  it('live 10 minutes by default and are rate limited per client address (IPv6 by /64): a farm of relays is refused with 429', async () => {
    const server = await startTestServer({ TRUST_PROXY: 'loopback', TURN_URLS: 'turn:turn.example:3478', TURN_SECRET: SECRET, TURN_CREDENTIAL_RATE_LIMIT: '3/10m' })
    try {
      const fetchFrom = (address: string) => server.fetch('/api/rtc/ice-servers', { headers: { 'x-forwarded-for': address } })
      const first = (await (await fetchFrom('2001:db8::1')).json()) as { ttl: number; iceServers: { username?: string }[] }
      expect(first.ttl).toBe(600)
      const expiry = Number(first.iceServers[0]!.username!.split(':')[0])
      expect(expiry - Date.now() / 1000).toBeLessThanOrEqual(600)
      expect((await fetchFrom('2001:db8::2')).status).toBe(200)
      expect((await fetchFrom('2001:db8::3')).status).toBe(200)
      const refused = await fetchFrom('2001:db8::4')
      expect(refused.status).toBe(429)
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('rate_limited')
      expect((await fetchFrom('2001:db8:1::1')).status).toBe(200)
    } finally {
      await server.close()
    }
  })
})
