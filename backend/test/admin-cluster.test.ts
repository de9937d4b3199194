/**
 * The admin dashboard with two instances behind a load balancer: one PostgreSQL, one Redis (the
 * Socket.IO adapter and the rate limiter). Events, live figures, settings, rate limits and
 * demotions act across instances.
 */
import type { AdminEvent, AdminServerToClient, LiveFigures, SettingsResponse } from '@sharesync/protocol'
import { ADMIN_NAMESPACE } from '@sharesync/protocol'
import { io, type Socket } from 'socket.io-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type TestServer } from './support/harness'
import { browserFetch, CookieJar, signInFlow, startOAuthServer, type FakeGoogleUser, type LocalOAuth } from './support/oauth'
import { connectRooms } from './support/rooms-client'
import { createDatabase, startPostgres, startRedis, type ServiceHandle } from './support/services'

const ROOT: FakeGoogleUser = { sub: 'c-root', email: 'root@example.com', name: 'Root', email_verified: true }
const ALICE: FakeGoogleUser = { sub: 'c-alice', email: 'alice@example.com', name: 'Alice', email_verified: true }

type AdminClient = Socket<AdminServerToClient, Record<string, never>>

let pg: ServiceHandle
let redis: ServiceHandle
let oauth: LocalOAuth
let a: TestServer
let b: TestServer
let root: CookieJar
let alice: CookieJar
const sockets: { close(): void }[] = []

async function signIn(server: TestServer, user: FakeGoogleUser): Promise<CookieJar> {
  oauth.setUser(user)
  const jar = new CookieJar()
  const { response } = await signInFlow(server.url, jar)
  expect(response.status).toBe(302)
  return jar
}

async function connectAdmin(server: TestServer, jar: CookieJar): Promise<AdminClient> {
  const socket: AdminClient = io(`${server.url}${ADMIN_NAMESPACE}`, {
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
    extraHeaders: { cookie: jar.header() },
  })
  sockets.push(socket)
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve())
    socket.once('connect_error', reject)
  })
  return socket
}

async function json<T>(server: TestServer, jar: CookieJar, method: string, path: string, body?: unknown): Promise<T> {
  const res = await browserFetch(jar, `${server.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${await res.text()}`)
  return (await res.json()) as T
}

function upload(server: TestServer, jar: CookieJar | null, size: number): Promise<Response> {
  const url = `${server.url}/api/upload/f.bin`
  const init = { method: 'PUT', body: new Uint8Array(size) }
  return jar ? browserFetch(jar, url, init) : fetch(url, init)
}

beforeAll(async () => {
  ;[pg, redis, oauth] = await Promise.all([startPostgres(), startRedis(), startOAuthServer()])
  const env = {
    ...oauth.env,
    DATABASE_URL: await createDatabase(pg.url, 'admin_cluster'),
    REDIS_URL: redis.url,
    ADMIN_EMAILS: ROOT.email,
    SESSION_SECRET: 'one-secret-for-every-instance-0123456789',
  }
  a = await startTestServer(env)
  b = await startTestServer(env)
  root = await signIn(a, ROOT)
  alice = await signIn(b, ALICE)
})
afterAll(async () => {
  for (const s of sockets) s.close()
  await a?.close()
  await b?.close()
  await Promise.all([pg?.stop(), redis?.stop(), oauth?.stop()])
})

describe('admin dashboard across two instances (PostgreSQL + Redis)', () => {
  it('a dashboard on instance A hears uploads and downloads made on B, and live figures count rooms on both', async () => {
    const dashboard = await connectAdmin(a, root)
    const seen: AdminEvent[] = []
    dashboard.on('admin:event', (e) => seen.push(e))

    const res = await upload(b, null, 500)
    expect(res.status).toBe(201)
    const { id } = (await res.json()) as { id: string }
    expect((await fetch(`${b.url}/api/shares/${id}/download`, { redirect: 'manual' })).status).toBe(302)
    await expect.poll(() => seen.map((e) => e.type)).toEqual(['shareCreated', 'shareDownloaded'])

    const onA = await connectRooms(a.url)
    const onB = await connectRooms(b.url)
    sockets.push(onA, onB)
    expect((await onA.emitWithAck('room:create', {})).ok).toBe(true)
    expect((await onB.emitWithAck('room:create', {})).ok).toBe(true)
    const live = await json<LiveFigures>(a, root, 'GET', '/api/admin/live')
    expect(live).toMatchObject({ rooms: 2, peers: 2, dashboards: 1, sockets: 3 })
    // The same figures from the other instance (the session lives in the database).
    expect(await json<LiveFigures>(b, root, 'GET', '/api/admin/live')).toMatchObject({ rooms: 2, peers: 2, dashboards: 1 })
    onA.close()
    onB.close()
  })

  it('the upload rate limit saved on A counts uploads on both instances (one Redis count)', async () => {
    const current = (await json<SettingsResponse>(a, root, 'GET', '/api/admin/settings')).settings
    await json(a, root, 'PUT', '/api/admin/settings', { ...current, uploadRateLimit: { points: 3, seconds: 600 } })
    // Within a second both instances apply it; Alice alternates instances.
    await new Promise((r) => setTimeout(r, 1100))
    const statuses = [] as number[]
    for (const server of [a, b, a, b]) statuses.push((await upload(server, alice, 10)).status)
    expect(statuses).toEqual([201, 201, 201, 429])
    await json(a, root, 'PUT', '/api/admin/settings', current)
  })

  it('demoting on B closes the demoted admin’s dashboard on A at once', async () => {
    const aliceId = ((await (await browserFetch(alice, `${b.url}/api/me`)).json()) as { id: string }).id
    await json(b, root, 'PATCH', `/api/admin/users/${aliceId}/role`, { role: 'admin' })
    const feed = await connectAdmin(a, alice)
    const closed = new Promise<string>((resolve) => feed.once('disconnect', resolve))
    await json(b, root, 'PATCH', `/api/admin/users/${aliceId}/role`, { role: 'user' })
    expect(await closed).toBe('io server disconnect')
  })

  it('demoting on B also closes the demoted admin’s /rooms-only connection on A, so no later /admin can ride on it', async () => {
    const aliceId = ((await (await browserFetch(alice, `${b.url}/api/me`)).json()) as { id: string }).id
    await json(b, root, 'PATCH', `/api/admin/users/${aliceId}/role`, { role: 'admin' })
    const rooms = await connectRooms(a.url, { headers: { cookie: alice.header() } })
    sockets.push(rooms)
    const closed = new Promise<string>((resolve) => rooms.once('disconnect', resolve))
    await json(b, root, 'PATCH', `/api/admin/users/${aliceId}/role`, { role: 'user' })
    expect(await closed).toBe('io server disconnect')
  })
})
