/**
 * Download monitoring across two instances (one PostgreSQL, one Redis for the Socket.IO adapter):
 * progress reaches the admin feed from whichever instance serves a download, Stop reaches that
 * instance, a client that stops reading is closed after STALL_TIMEOUT, and the history keeps how
 * each download ended. Downloads are real HTTP responses read by deliberately slow clients.
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs'
import { get, type IncomingMessage } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  ACCOUNT_NAMESPACE,
  ADMIN_NAMESPACE,
  type LibraryLinkResponse,
  type MonitoredDownload,
  type MonitorServerToClient,
  type Page,
  type UploadResponse,
} from '@sharesync/protocol'
import { io, type Socket } from 'socket.io-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type TestServer } from './support/harness'
import { browserFetch, CookieJar, signInFlow, startOAuthServer, type FakeGoogleUser, type LocalOAuth } from './support/oauth'
import { createDatabase, startPostgres, startRedis, type ServiceHandle } from './support/services'

const ADMIN: FakeGoogleUser = { sub: 'm-admin', email: 'watcher@example.com', name: 'Watcher', email_verified: true }
const BOB: FakeGoogleUser = { sub: 'm-bob', email: 'bob@example.com', name: 'Bob', email_verified: true }
const ALICE: FakeGoogleUser = { sub: 'm-alice', email: 'alice@example.com', name: 'Alice', email_verified: true }
const MiB = 2 ** 20
const SIZE = 64 * MiB

type FeedSocket = Socket<MonitorServerToClient, Record<string, never>>

let pg: ServiceHandle
let redis: ServiceHandle
let oauth: LocalOAuth
let a: TestServer
let b: TestServer
let work: string
let admin: CookieJar
let bob: CookieJar
let alice: CookieJar
const sockets: FeedSocket[] = []
const clients: IncomingMessage[] = []

async function signIn(server: TestServer, user: FakeGoogleUser): Promise<CookieJar> {
  oauth.setUser(user)
  const jar = new CookieJar()
  const { response } = await signInFlow(server.url, jar)
  expect(response.status).toBe(302)
  return jar
}

async function feed(server: TestServer, jar: CookieJar | null, nsp: string): Promise<FeedSocket> {
  const socket: FeedSocket = io(`${server.url}${nsp}`, {
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
    extraHeaders: jar ? { cookie: jar.header() } : {},
  })
  sockets.push(socket)
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve())
    socket.once('connect_error', reject)
  })
  return socket
}

const send = (server: TestServer, jar: CookieJar, method: string, path: string, body?: unknown) =>
  browserFetch(jar, `${server.url}${path}`, {
    method,
    headers: { origin: server.url, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })

/** The URL a recipient ends up downloading from (the share's download route redirects to it). */
async function downloadUrl(server: TestServer, shareId: string): Promise<string> {
  const res = await fetch(`${server.url}/api/shares/${shareId}/download`, { redirect: 'manual' })
  expect(res.status).toBe(302)
  return new URL(res.headers.get('location')!, server.url).toString()
}

/**
 * A client that reads `chunkBytes` then waits `pauseMs`, forever (or until `stopAfter` bytes: then it
 * stops reading without closing). Resolves `ended` with how its response ended.
 */
function slowClient(url: string, opts: { pauseMs: number; stopAfter?: number }) {
  let received = 0
  let stopAfter = opts.stopAfter
  let response: IncomingMessage | null = null
  const ended = new Promise<{ how: 'end' | 'closed'; received: number }>((resolve, reject) => {
    const req = get(url, (res) => {
      response = res
      clients.push(res)
      res.on('data', (chunk: Buffer) => {
        received += chunk.length
        res.pause()
        if (stopAfter !== undefined && received >= stopAfter) return
        setTimeout(() => res.resume(), opts.pauseMs)
      })
      res.on('end', () => resolve({ how: 'end', received }))
      res.on('aborted', () => resolve({ how: 'closed', received }))
      res.on('error', () => resolve({ how: 'closed', received }))
      res.on('close', () => resolve({ how: res.complete ? 'end' : 'closed', received }))
    })
    req.on('error', reject)
  })
  return {
    ended,
    status: () => response?.statusCode,
    /** read on, as fast as possible (a paused client only notices a closed connection when it reads) */
    resume() {
      stopAfter = undefined
      response?.resume()
    },
  }
}

/** The first event for this share that satisfies `check`. */
function nextEvent<E extends keyof MonitorServerToClient>(
  socket: FeedSocket,
  event: E,
  check: (d: MonitoredDownload) => boolean,
): Promise<MonitoredDownload> {
  return new Promise((resolve) => {
    const listener = (payload: MonitoredDownload | MonitoredDownload[]) => {
      const found = (Array.isArray(payload) ? payload : [payload]).find(check)
      if (!found) return
      socket.off(event, listener as never)
      resolve(found)
    }
    socket.on(event, listener as never)
  })
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'sharesync-monitor-'))
  mkdirSync(join(work, 'lib'))
  // 64 MiB, sparse, a marker at the start: much more than the socket buffers hold, no disk used.
  const fd = openSync(join(work, 'lib', 'movie.mkv'), 'w')
  writeSync(fd, Buffer.from('start'), 0, 5, 0)
  writeSync(fd, Buffer.from('end'), 0, 3, SIZE - 3)
  closeSync(fd)
  ;[pg, redis, oauth] = await Promise.all([startPostgres(), startRedis(), startOAuthServer()])
  const env = {
    ...oauth.env,
    DATABASE_URL: await createDatabase(pg.url, 'monitor'),
    REDIS_URL: redis.url,
    ADMIN_EMAILS: ADMIN.email,
    SESSION_SECRET: 'one-secret-for-every-instance-0123456789',
    LIBRARY_DIR: `Media=${join(work, 'lib')}`,
    STALL_TIMEOUT: '1500ms',
    DOWNLOAD_LEASE_TTL: '2s',
  }
  a = await startTestServer(env)
  b = await startTestServer(env)
  admin = await signIn(a, ADMIN)
  bob = await signIn(b, BOB)
  alice = await signIn(a, ALICE)
  const bobId = ((await (await browserFetch(bob, `${b.url}/api/me`)).json()) as { id: string }).id
  expect((await send(a, admin, 'PATCH', `/api/admin/users/${bobId}/library`, { allowed: true })).status).toBe(200)
})

afterAll(async () => {
  for (const s of sockets) s.close()
  for (const c of clients) c.destroy()
  await Promise.all([a?.close(), b?.close()])
  await Promise.all([pg?.stop(), redis?.stop(), oauth?.stop()])
  rmSync(work, { recursive: true, force: true })
})

async function bobsLink(): Promise<LibraryLinkResponse> {
  const res = await send(b, bob, 'POST', '/api/library/links', { path: 'Media/movie.mkv' })
  expect(res.status).toBe(201)
  return (await res.json()) as LibraryLinkResponse
}

describe('download monitor', () => {
  it('during a throttled download the admin feed (other instance) reports growing bytes; Stop there closes the client', async () => {
    const adminFeed = await feed(a, admin, ADMIN_NAMESPACE)
    const ownerFeed = await feed(a, bob, ACCOUNT_NAMESPACE)
    const strangerFeed = await feed(a, alice, ACCOUNT_NAMESPACE)
    const strangerSaw: MonitoredDownload[] = []
    strangerFeed.on('downloads:progress', (list) => strangerSaw.push(...list))
    const link = await bobsLink()
    const isOurs = (d: MonitoredDownload) => d.shareId === link.id

    const first = nextEvent(adminFeed, 'downloads:progress', (d) => isOurs(d) && d.bytes > 0)
    const client = slowClient(await downloadUrl(b, link.id), { pauseMs: 15 })
    const one = await first
    const two = await nextEvent(adminFeed, 'downloads:progress', (d) => d.id === one.id && d.bytes > one.bytes)
    expect(two).toMatchObject({
      fileName: 'movie.mkv',
      source: 'library',
      total: SIZE,
      length: SIZE,
      status: 'active',
      client: { ip: '127.0.0.1' },
    })
    expect(two.bytes).toBeLessThan(SIZE)
    expect(two.percent).toBeGreaterThan(0)
    expect(two.speed).toBeGreaterThan(0)
    // The owner follows it live too (on an instance that does not serve it).
    expect((await nextEvent(ownerFeed, 'downloads:progress', (d) => d.id === one.id)).id).toBe(one.id)

    // Listed as active, by both instances, for the admin and for the owner; not for someone else.
    const active = (await (await browserFetch(admin, `${a.url}/api/admin/downloads?status=active`)).json()) as Page<MonitoredDownload>
    expect(active.items.map((d) => d.id)).toContain(one.id)
    const owners = (await (await browserFetch(bob, `${a.url}/api/me/downloads`)).json()) as Page<MonitoredDownload>
    expect(owners.items.map((d) => d.id)).toEqual([one.id])
    const strangers = (await (await browserFetch(alice, `${a.url}/api/me/downloads?status=all`)).json()) as Page<MonitoredDownload>
    expect(strangers.items).toEqual([])
    expect((await send(a, alice, 'POST', `/api/me/downloads/${one.id}/stop`)).status).toBe(404)
    expect((await send(a, alice, 'POST', `/api/admin/downloads/${one.id}/stop`)).status).toBe(403)

    // Stop on instance A; instance B serves the download.
    const ended = nextEvent(adminFeed, 'downloads:ended', (d) => d.id === one.id)
    expect((await send(a, admin, 'POST', `/api/admin/downloads/${one.id}/stop`)).status).toBe(204)
    const [how, end] = await Promise.all([client.ended, ended])
    expect(how.how).toBe('closed')
    expect(how.received).toBeLessThan(SIZE)
    expect(end.status).toBe('stopped')
    expect((await send(a, admin, 'POST', `/api/admin/downloads/${one.id}/stop`)).status).toBe(404)
    const history = (await (
      await browserFetch(admin, `${b.url}/api/admin/downloads?status=finished&shareId=${link.id}`)
    ).json()) as Page<MonitoredDownload>
    expect(history.items[0]).toMatchObject({ id: one.id, status: 'stopped', endedAt: expect.any(String) })
    expect(strangerSaw).toEqual([])
  })

  it('a client that stops reading is marked stalled after STALL_TIMEOUT and its connection is closed', async () => {
    const adminFeed = await feed(a, admin, ADMIN_NAMESPACE)
    const link = await bobsLink()
    const ended = nextEvent(adminFeed, 'downloads:ended', (d) => d.shareId === link.id)
    const client = slowClient(await downloadUrl(a, link.id), { pauseMs: 0, stopAfter: 1 })
    const end = await ended
    expect(end.status).toBe('stalled')
    expect(end.bytes).toBeLessThan(SIZE)
    // The server closed the connection: reading on, the client gets what was in flight, then the end, short of the file.
    client.resume()
    const how = await client.ended
    expect(how.how).toBe('closed')
    expect(how.received).toBeLessThan(SIZE)
    const history = (await (
      await browserFetch(bob, `${b.url}/api/me/downloads?status=finished&shareId=${link.id}`)
    ).json()) as Page<MonitoredDownload>
    expect(history.items[0]).toMatchObject({ id: end.id, status: 'stalled' })
  })

  it('on a one-time library link, a client that stops reading is stalled and closed; once its lease lapses the one download is free again', async () => {
    const adminFeed = await feed(a, admin, ADMIN_NAMESPACE)
    const res = await send(b, bob, 'POST', '/api/library/links', { path: 'Media/movie.mkv', maxDownloads: 1 })
    expect(res.status).toBe(201)
    const link = (await res.json()) as LibraryLinkResponse
    const ended = nextEvent(adminFeed, 'downloads:ended', (d) => d.shareId === link.id)
    const staller = slowClient(await downloadUrl(a, link.id), { pauseMs: 0, stopAfter: 1 })
    expect((await ended).status).toBe('stalled')
    staller.resume()
    expect((await staller.ended).how).toBe('closed')

    // The stalled holder's lease lapses (DOWNLOAD_LEASE_TTL): the next claimant gets the download, whole.
    let location: string | null = null
    await expect
      .poll(
        async () => {
          const claim = await fetch(`${b.url}/api/shares/${link.id}/download`, { redirect: 'manual' })
          if (claim.status === 302) location = claim.headers.get('location')
          return claim.status
        },
        { timeout: 30_000, interval: 250 },
      )
      .toBe(302)
    const done = nextEvent(adminFeed, 'downloads:ended', (d) => d.shareId === link.id && d.status === 'completed')
    const full = await fetch(new URL(location!, b.url))
    expect((await full.arrayBuffer()).byteLength).toBe(SIZE)
    expect((await done).bytes).toBe(SIZE)
    // It counted once: the link is used up now.
    expect((await fetch(`${a.url}/api/shares/${link.id}/download`, { redirect: 'manual' })).status).toBe(404)
  })

  it('a download read to the end is completed, with every byte counted; a client that hangs up is aborted', async () => {
    const adminFeed = await feed(b, admin, ADMIN_NAMESPACE)
    const link = await bobsLink()
    const done = nextEvent(adminFeed, 'downloads:ended', (d) => d.shareId === link.id)
    const res = await fetch(await downloadUrl(a, link.id))
    const bytes = (await res.arrayBuffer()).byteLength
    expect(bytes).toBe(SIZE)
    expect(await done).toMatchObject({ status: 'completed', bytes: SIZE, percent: 100 })

    const aborted = nextEvent(adminFeed, 'downloads:ended', (d) => d.shareId === link.id && d.status !== 'completed')
    const controller = new AbortController()
    const partial = await fetch(await downloadUrl(b, link.id), { signal: controller.signal, headers: { range: `bytes=${SIZE / 2}-` } })
    expect(partial.status).toBe(206)
    const reader = partial.body!.getReader()
    await reader.read()
    controller.abort()
    const gone = await aborted
    expect(gone).toMatchObject({ status: 'aborted', offset: SIZE / 2, length: SIZE / 2, total: SIZE })
    expect(gone.percent).toBeGreaterThanOrEqual(50)
  })

  it('disk-store downloads (the blob routes) are monitored too', async () => {
    const adminFeed = await feed(a, admin, ADMIN_NAMESPACE)
    // Each test instance has its own disk store: the download goes to the instance that holds the file.
    const up = (await (
      await fetch(`${b.url}/api/upload/report.pdf`, { method: 'PUT', body: new Uint8Array(300_000) })
    ).json()) as UploadResponse
    const done = nextEvent(adminFeed, 'downloads:ended', (d) => d.shareId === up.id)
    const res = await fetch(await downloadUrl(b, up.id))
    expect((await res.arrayBuffer()).byteLength).toBe(300_000)
    expect(await done).toMatchObject({ status: 'completed', source: 'disk', fileName: 'report.pdf', bytes: 300_000 })
  })

  it('feeds and routes refuse those who may not see them; bad ids answer 404, bad queries 400', async () => {
    await expect(feed(a, null, ACCOUNT_NAMESPACE)).rejects.toThrow()
    await expect(feed(a, alice, ADMIN_NAMESPACE)).rejects.toThrow()
    expect((await fetch(`${a.url}/api/admin/downloads`)).status).toBe(401)
    expect((await browserFetch(alice, `${a.url}/api/admin/downloads`)).status).toBe(403)
    expect((await fetch(`${a.url}/api/me/downloads`)).status).toBe(401)
    expect((await browserFetch(admin, `${a.url}/api/admin/downloads?status=everything`)).status).toBe(400)
    expect((await browserFetch(admin, `${a.url}/api/admin/downloads?limit=100000`)).status).toBe(400)
    expect((await browserFetch(admin, `${a.url}/api/admin/downloads?shareId=%27%20OR%201%3D1`)).status).toBe(400)
    for (const id of ['nope', 'A'.repeat(22), '..%2F..%2Fetc']) {
      const res = await send(a, admin, 'POST', `/api/admin/downloads/${id}/stop`)
      expect([id, res.status, ((await res.json()) as { error: { code: string } }).error.code]).toEqual([id, 404, 'download_not_active'])
    }
    expect((await send(a, bob, 'POST', `/api/me/downloads/${'B'.repeat(22)}/stop`)).status).toBe(404)
  })
})
