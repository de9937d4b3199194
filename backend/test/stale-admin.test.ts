/**
 * A demoted or disabled admin keeps nothing: one engine.io connection multiplexes namespaces, so a
 * connection opened while someone was an admin must not let them open `/admin` after the change.
 * Real server, real OAuth2 server for sign-in, socket.io-client's Manager to open namespaces on one
 * connection as a hostile client would.
 */
import { ADMIN_NAMESPACE, ROOMS_NAMESPACE } from '@sharesync/protocol'
import { Manager, type Socket } from 'socket.io-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type TestServer } from './support/harness'
import { browserFetch, CookieJar, signInFlow, startOAuthServer, type FakeGoogleUser, type LocalOAuth } from './support/oauth'

const ROOT: FakeGoogleUser = { sub: 's-root', email: 'root@example.com', name: 'Root', email_verified: true }
const people = (name: string): FakeGoogleUser => ({ sub: `s-${name}`, email: `${name}@example.com`, name, email_verified: true })

let oauth: LocalOAuth
let server: TestServer
let root: CookieJar
const managers: Manager[] = []

async function signIn(user: FakeGoogleUser): Promise<{ jar: CookieJar; id: string }> {
  oauth.setUser(user)
  const jar = new CookieJar()
  const { response } = await signInFlow(server.url, jar)
  expect(response.status).toBe(302)
  const me = (await (await browserFetch(jar, `${server.url}/api/me`)).json()) as { id: string }
  return { jar, id: me.id }
}

async function patch(path: string, body: unknown): Promise<void> {
  const res = await browserFetch(root, `${server.url}${path}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  expect(res.status, await res.clone().text()).toBe(200)
}

/** An admin that root promoted, signed in. */
async function promotedAdmin(name: string) {
  const user = await signIn(people(name))
  await patch(`/api/admin/users/${user.id}/role`, { role: 'admin' })
  return user
}

/** One engine.io connection (as a browser tab has), carrying `jar`'s session cookie. */
function connection(jar: CookieJar): Manager {
  const manager = new Manager(server.url, { transports: ['websocket'], reconnection: false, extraHeaders: { cookie: jar.header() } })
  managers.push(manager)
  return manager
}

/** Opens `namespace` on the connection: 'connected', or the refusal's code. */
function open(manager: Manager, namespace: string): Promise<{ outcome: string; socket: Socket }> {
  const socket = manager.socket(namespace)
  return new Promise((resolve) => {
    socket.once('connect', () => resolve({ outcome: 'connected', socket }))
    socket.once('connect_error', (err) => resolve({ outcome: (err as { data?: { code?: string } }).data?.code ?? err.message, socket }))
    socket.connect()
  })
}

/** Resolves with the reason once `socket` disconnects; rejects if that takes longer than `ms`. */
function disconnectWithin(socket: Socket, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`still connected ${ms} ms after the change`)), ms)
    socket.once('disconnect', (reason) => {
      clearTimeout(timer)
      resolve(reason)
    })
  })
}

beforeAll(async () => {
  oauth = await startOAuthServer()
  server = await startTestServer({ ...oauth.env, ADMIN_EMAILS: ROOT.email })
  root = (await signIn(ROOT)).jar
})
afterAll(async () => {
  for (const m of managers) m.engine?.close()
  await server?.close()
  await oauth?.stop()
})

describe('a demoted or disabled admin loses the admin feed', () => {
  it('demoted and disabled while holding a /rooms-only connection: that connection is closed at once, and /admin answers connect_error', async () => {
    const alice = await promotedAdmin('alice')
    const tab = connection(alice.jar)
    const { outcome, socket: rooms } = await open(tab, ROOMS_NAMESPACE)
    expect(outcome).toBe('connected')
    const engineId = tab.engine.id

    const closed = disconnectWithin(rooms, 1000)
    await patch(`/api/admin/users/${alice.id}/role`, { role: 'user' })
    await patch(`/api/admin/users/${alice.id}/disabled`, { disabled: true })
    expect(await closed).toBe('io server disconnect')

    // Whatever the tab opens next is a new handshake, and the account is disabled.
    const admin = await open(tab, ADMIN_NAMESPACE)
    expect(admin.outcome).toBe('unauthorized')
    expect(tab.engine.id).not.toBe(engineId)
  })

  it('a role lowered behind the server’s back (no event, e.g. straight in the database) is still caught when /admin is opened on an old connection', async () => {
    const bob = await promotedAdmin('bob')
    const tab = connection(bob.jar)
    const rooms = await open(tab, ROOMS_NAMESPACE)
    expect(rooms.outcome).toBe('connected')
    const engineId = tab.engine.id
    await server.deps.db.query(`UPDATE users SET role = 'user' WHERE id = $1`, [bob.id])

    expect((await open(tab, ADMIN_NAMESPACE)).outcome).toBe('forbidden')
    // Same connection: the refusal came from the check when /admin was opened, not from a reconnect.
    expect(tab.engine.id).toBe(engineId)
    expect(rooms.socket.connected).toBe(true)
  })

  it('a disabled account or a signed-out session cannot open /admin on a connection opened before', async () => {
    const carol = await promotedAdmin('carol')
    const carolTab = connection(carol.jar)
    expect((await open(carolTab, ROOMS_NAMESPACE)).outcome).toBe('connected')
    await server.deps.db.query(`UPDATE users SET disabled_at = now() WHERE id = $1`, [carol.id])
    expect((await open(carolTab, ADMIN_NAMESPACE)).outcome).toBe('unauthorized')

    const dave = await promotedAdmin('dave')
    const daveTab = connection(dave.jar)
    expect((await open(daveTab, ROOMS_NAMESPACE)).outcome).toBe('connected')
    const out = await browserFetch(dave.jar, `${server.url}/api/auth/logout`, { method: 'POST' })
    expect(out.status).toBe(204)
    expect((await open(daveTab, ADMIN_NAMESPACE)).outcome).toBe('unauthorized')
  })

  it('an admin whose access did not change still opens /admin on the connection it already has', async () => {
    const erin = await promotedAdmin('erin')
    const tab = connection(erin.jar)
    expect((await open(tab, ROOMS_NAMESPACE)).outcome).toBe('connected')
    expect((await open(tab, ADMIN_NAMESPACE)).outcome).toBe('connected')
  })

  it('promoting someone also closes their connections, so the next one carries the new role', async () => {
    const frank = await signIn(people('frank'))
    const tab = connection(frank.jar)
    const { socket: rooms } = await open(tab, ROOMS_NAMESPACE)
    const closed = disconnectWithin(rooms, 1000)
    await patch(`/api/admin/users/${frank.id}/role`, { role: 'admin' })
    expect(await closed).toBe('io server disconnect')
    expect((await open(connection(frank.jar), ADMIN_NAMESPACE)).outcome).toBe('connected')
  })
})
