/**
 * Sessions on real PostgreSQL with two instances: a sign-in on one instance is valid on the other,
 * sign-out on one ends it everywhere, and a Socket.IO handshake on the other instance reads it.
 */
import type { Me } from '@sharesync/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type TestServer } from './support/harness'
import { browserFetch, CookieJar, signInFlow, startOAuthServer, type LocalOAuth } from './support/oauth'
import { connectRooms } from './support/rooms-client'
import { createDatabase, startPostgres, type ServiceHandle } from './support/services'

let postgres: ServiceHandle
let oauth: LocalOAuth
let a: TestServer
let b: TestServer

beforeAll(async () => {
  ;[postgres, oauth] = await Promise.all([startPostgres(), startOAuthServer()])
  const url = await createDatabase(postgres.url, 'auth_sessions')
  // Instances share the database and the session secret, as behind a load balancer.
  const env = { ...oauth.env, DATABASE_URL: url, SESSION_SECRET: 'a-shared-secret-of-at-least-32-characters', ADMIN_EMAILS: 'ops@example.com' }
  a = await startTestServer(env)
  b = await startTestServer(env)
})
afterAll(async () => {
  await a?.close()
  await b?.close()
  await oauth?.stop()
  await postgres?.stop()
})

describe('sessions across instances (PostgreSQL)', () => {
  it('signed in on instance A, recognised on instance B, ended everywhere by sign-out on B', async () => {
    oauth.setUser({ sub: 'pg-ops', email: 'ops@example.com', name: 'Ops', email_verified: true })
    const jar = new CookieJar()
    const { response } = await signInFlow(a.url, jar)
    expect(response.status).toBe(302)

    const onB = await browserFetch(jar, `${b.url}/api/me`)
    expect(onB.status).toBe(200)
    const me = (await onB.json()) as Me
    expect(me).toMatchObject({ email: 'ops@example.com', role: 'admin' })

    const socket = await connectRooms(b.url, { headers: { origin: b.url, cookie: jar.header() } })
    try {
      const serverSide = [...b.realtime.io.of('/rooms').sockets.values()].find((s) => s.id === socket.id)
      expect(serverSide?.data.userId).toBe(me.id)
    } finally {
      socket.disconnect()
    }

    const stolen = jar.clone()
    expect((await browserFetch(jar, `${b.url}/api/auth/logout`, { method: 'POST', headers: { origin: b.url } })).status).toBe(204)
    expect((await browserFetch(stolen, `${a.url}/api/me`)).status).toBe(401)
  })

  it('the state of a sign-in started on A is checked on B (callback lands on another instance)', async () => {
    oauth.setUser({ sub: 'pg-user', email: 'user@example.com', name: 'User', email_verified: true })
    const jar = new CookieJar()
    const flow = await signInFlow(a.url, jar, { rewriteCallback: (u) => u.replace(a.url, b.url) })
    expect(flow.response.status).toBe(302)
    expect((await browserFetch(jar, `${a.url}/api/me`)).status).toBe(200)
  })
})
