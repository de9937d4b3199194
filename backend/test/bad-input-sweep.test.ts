/**
 * The bad-input sweep: every HTTP route the Express app has (read from its router stack, so routes
 * added later are swept too) and every client event of /rooms (from the protocol's
 * ROOMS_CLIENT_EVENTS) get a corpus of hostile input generated with fast-check: wrong types, huge
 * strings and arrays, deep nesting, unicode edge cases, `__proto__` / `constructor` keys. Each answer
 * must be a clear error (4xx JSON, or an error ack), never a 5xx; the process must stay up; and the
 * database and the storage directory must be exactly as they were.
 *
 * A route the sweep cannot exercise (a path parameter it has no fixture for, or a router mounted
 * below the root) fails the test: add the fixture here rather than letting the route go unswept.
 */
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { ERRORS, ROOMS_CLIENT_EVENTS } from '@sharesync/protocol'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureAdminBootstrap } from '../src/auth/auth.service'
import { startTestServer, type TestServer } from './support/harness'
import { CookieJar, browserFetch } from './support/oauth'
import { connectRooms, type RoomsClient } from './support/rooms-client'

const RUNS_PER_ROUTE = 12
const RUNS_PER_EVENT = 8

/** Routes whose body is not JSON: the bytes are a file (or a signed part), so only the query and path are hostile. */
const STREAMED = new Set(['PUT /api/upload/:filename', 'PUT /api/upload', 'POST /api/upload', 'PUT /api/blobs/parts/:uploadId/:partNumber'])
/**
 * Routes that act on the path alone and ignore any body (sign-out, finalize, delete, stop): swept as
 * an anonymous client only, since for their owner any body does what the route is for.
 */
const BODYLESS = new Set([
  'POST /api/auth/logout',
  'POST /api/shares/:id/finalize',
  'DELETE /api/shares/:id',
  'DELETE /api/me/shares/:id',
  'DELETE /api/admin/shares/:id',
  'POST /api/admin/downloads/:id/stop',
  'POST /api/me/downloads/:id/stop',
])

interface Route {
  method: string
  path: string
}
type Layer = { route?: { path: unknown; methods: Record<string, boolean> }; handle?: { stack?: Layer[] }; slash?: boolean }

/** Every route of the app, from its router stack (routers mounted at the root, as server.ts does). */
function routesOf(app: TestServer['app']): Route[] {
  const routes: Route[] = []
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        const path = layer.route.path
        if (typeof path !== 'string') continue // the web app's catch-all (a RegExp): static files
        for (const method of Object.keys(layer.route.methods)) routes.push({ method: method.toUpperCase(), path })
      } else if (layer.handle?.stack) {
        if (layer.slash !== true) throw new Error('a router is mounted below the root: teach the sweep its mount path')
        walk(layer.handle.stack)
      }
    }
  }
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack)
  return routes
}

/** Hostile JSON values: every type, huge, deep, odd unicode, prototype keys. */
const hostileString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme', maxLength: 50 }),
  fc.constantFrom('', ' ', '\u0000', '\u202e\u202d', '\ud800', '\udfff', '\ufeff', '💥'.repeat(5000), 'a'.repeat(300_000), '../../etc/passwd', '%E0%A4%A', '${jndi:x}', '<script>'),
  fc.string({ unit: 'binary', maxLength: 40 }),
)
const hostileKey = fc.oneof(fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'files', 'password', 'role', 'disabled', 'settings', 'partNumbers', 'parts', 'expiresIn', 'maxDownloads', 'encrypted', 'metadata', 'path', 'name'), fc.string({ maxLength: 10 }))
const leaf = fc.oneof(hostileString, fc.integer(), fc.double(), fc.constantFrom(Number.MAX_SAFE_INTEGER, -1, 0, 1e308, -0, 2 ** 53), fc.boolean(), fc.constant(null))
const hostileValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(hostileKey, tie('value'), { maxKeys: 6 }),
  ),
})).value
/**
 * A body as sent on the wire. Every JSON route takes an object, so nothing here is one at the top:
 * hostile values inside arrays (prototype keys included), bare strings, numbers and null, deep
 * nesting, huge arrays, and text that is not JSON. Any of them must be refused.
 */
const hostileBody = fc.oneof(
  fc.array(hostileValue, { minLength: 1, maxLength: 6 }).map((v) => JSON.stringify(v)),
  leaf.map((v) => JSON.stringify(v)),
  fc.constantFrom(
    '[{"__proto__":{"admin":true},"constructor":{"prototype":{"polluted":1}}}]',
    '"__proto__"',
    '['.repeat(5000) + ']'.repeat(5000),
    '{"a":'.repeat(3000) + '1' + '}'.repeat(3000),
    JSON.stringify(Array.from({ length: 50_000 }, () => 1)),
    JSON.stringify(['\ud800', { files: [{ name: '\u202e', size: -1 }] }]),
    '{not json',
    '\u0000\u0001',
    '{"role": "admin", "role": ',
  ),
)
/** A hostile query string. */
const hostileQuery = fc.dictionary(hostileKey, fc.oneof(hostileString, fc.constantFrom('[object Object]', '-1', 'NaN', 'Infinity', '1e400')), { maxKeys: 5 }).map((d) => {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(d)) q.append(k.slice(0, 2000), v.slice(0, 2000))
  return q.toString()
})

let server: TestServer
let admin: CookieJar
const fixtures: Record<string, string> = {}
let inputs = 0

/** Everything the database holds, table by table (a digest of each table's rows). */
async function databaseState(): Promise<Record<string, string>> {
  const tables = await server.deps.db.query<{ table_name: string }>(`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1`)
  const state: Record<string, string> = {}
  for (const { table_name } of tables) {
    // Session rows slide their expiry on use; which sessions exist is what matters.
    const rows = table_name === 'sessions' ? `SELECT sid FROM sessions` : `SELECT * FROM "${table_name}"`
    const [row] = await server.deps.db.query<{ n: number; digest: string | null }>(`SELECT count(*)::int AS n, md5(string_agg(t::text, '|' ORDER BY t::text)) AS digest FROM (${rows}) t`)
    state[table_name] = `${row!.n}:${row!.digest ?? ''}`
  }
  return state
}

function storageState(): string[] {
  const out: string[] = []
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name)
      const s = statSync(p)
      if (s.isDirectory()) walk(p)
      else out.push(`${p.slice(server.dataDir.length)}:${s.size}`)
    }
  }
  walk(join(server.dataDir, 'blobs'))
  return out.sort()
}

const state = async () => ({ db: await databaseState(), storage: storageState() })

/** The path with its parameters filled in from the fixtures; throws for a parameter without one. */
function fill(path: string): string {
  return path.replace(/[:*](\w+)/g, (_m, name: string) => {
    const value = fixtures[name]
    if (value === undefined) throw new Error(`the bad-input sweep has no fixture for ":${name}" (in ${path}): add one`)
    return encodeURIComponent(value)
  })
}

async function send(route: Route, as: CookieJar | null, query: string, body: string | undefined) {
  const url = `${server.url}${fill(route.path)}${query ? `?${query}` : ''}`
  const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' }
  const init: RequestInit = { method: route.method, headers, body, redirect: 'manual' }
  inputs++
  const res = as ? await browserFetch(as.clone(), url, init) : await fetch(url, init)
  const text = route.method === 'HEAD' ? '' : await res.text()
  return { status: res.status, text, type: res.headers.get('content-type') ?? '' }
}

function expectClearError(route: Route, answer: { status: number; text: string; type: string }, input: string) {
  const where = `${route.method} ${route.path} <- ${input.slice(0, 200)}`
  expect(answer.status, where).toBeGreaterThanOrEqual(400)
  expect(answer.status, where).toBeLessThan(500)
  if (route.method === 'HEAD') return
  expect(answer.type, where).toContain('application/json')
  const body = JSON.parse(answer.text) as { error?: { code?: string; message?: string } }
  expect(Object.keys(ERRORS), where).toContain(body.error?.code)
  expect(typeof body.error?.message, where).toBe('string')
}

beforeAll(async () => {
  server = await startTestServer({ UPLOAD_RATE_LIMIT: '100000/1h', DOWNLOAD_RATE_LIMIT: '100000/1m', PART_SIGN_RATE_LIMIT: '100000/1m', LIBRARY_RATE_LIMIT: '100000/1m', PASSWORD_ATTEMPTS: '100000/1m', SHARE_PASSWORD_ATTEMPTS: '100000/1m', ROOM_JOIN_RATE_LIMIT: '100000/1m', ROOM_CREATE_RATE_LIMIT: '100000/1h' })
  const bootstrap = await ensureAdminBootstrap(server.deps)
  admin = new CookieJar()
  expect((await browserFetch(admin, `${server.url}${bootstrap!}`)).status).toBe(302)
  const me = (await (await browserFetch(admin, `${server.url}/api/me`)).json()) as { id: string }
  // One password-protected share of the admin's, with a download limit: downloads then need the
  // password, so no hostile request can count one.
  const up = await browserFetch(admin, `${server.url}/api/upload/fixture.txt?password=fixture-password&maxDownloads=3`, { method: 'PUT', body: 'fixture' })
  const share = (await up.json()) as { id: string }
  const [file] = await server.deps.db.query<{ id: string }>(`SELECT id FROM files WHERE share_id = $1`, [share.id])
  Object.assign(fixtures, { id: share.id, shareId: share.id, fileId: file!.id, filename: 'sweep.txt', uploadId: 'AAAAAAAAAAAAAAAAAAAAAA', partNumber: '1', key: 'no/such/key', userId: me.id, provider: 'sweep' })
})
afterAll(async () => {
  process.stdout.write(`bad-input sweep: ${inputs} inputs\n`)
  await server?.close()
})

describe('the bad-input sweep', () => {
  it('knows every route: each has fixtures for its parameters, and the list is not empty', () => {
    const routes = routesOf(server.app)
    expect(routes.length).toBeGreaterThan(40)
    for (const r of routes) expect(() => fill(r.path)).not.toThrow()
    for (const listed of [...STREAMED, ...BODYLESS]) expect(routes.map((r) => `${r.method} ${r.path}`), `${listed} is listed but no longer a route`).toContain(listed)
  })

  it('every JSON route answers hostile bodies with a 4xx JSON error, as anonymous and as an admin, and nothing stored changes', async () => {
    const routes = routesOf(server.app).filter((r) => !['GET', 'HEAD'].includes(r.method) && !STREAMED.has(`${r.method} ${r.path}`))
    for (const route of routes) {
      const before = await state()
      const identities = BODYLESS.has(`${route.method} ${route.path}`) ? [null] : [null, admin]
      for (const as of identities) {
        await fc.assert(
          fc.asyncProperty(hostileBody, async (body) => {
            const answer = await send(route, as, '', body)
            if (BODYLESS.has(`${route.method} ${route.path}`)) expect(answer.status, `${route.method} ${route.path}`).toBeLessThan(500)
            else expectClearError(route, answer, body)
          }),
          { numRuns: RUNS_PER_ROUTE },
        )
      }
      expect(await state(), `${route.method} ${route.path} changed what is stored`).toEqual(before)
    }
  }, 240_000)

  it('streamed routes (uploads, signed parts) refuse hostile options and paths with a 4xx JSON error, and store nothing', async () => {
    const routes = routesOf(server.app).filter((r) => STREAMED.has(`${r.method} ${r.path}`))
    const before = await state()
    for (const route of routes) {
      await fc.assert(
        fc.asyncProperty(hostileQuery, hostileBody, async (query, body) => {
          // An option that can never be valid, so that the request must be refused whatever the rest.
          const answer = await send(route, null, `${query}&maxDownloads=-1&expiresIn=abc`, body)
          expectClearError(route, answer, `${query} / ${body}`)
        }),
        { numRuns: RUNS_PER_ROUTE },
      )
    }
    expect(await state()).toEqual(before)
  })

  it('every GET route answers hostile query strings without a 5xx (errors as 4xx JSON), as anonymous and as an admin, and nothing stored changes', async () => {
    const routes = routesOf(server.app).filter((r) => r.method === 'GET' || r.method === 'HEAD')
    for (const route of routes) {
      const before = await state()
      for (const as of [null, admin]) {
        await fc.assert(
          fc.asyncProperty(hostileQuery, async (query) => {
            const answer = await send(route, as, query, undefined)
            const where = `${route.method} ${route.path}?${query.slice(0, 200)}`
            expect(answer.status, where).toBeLessThan(500)
            if (answer.status >= 400) expectClearError(route, answer, query)
          }),
          { numRuns: RUNS_PER_ROUTE },
        )
      }
      expect(await state(), `${route.method} ${route.path} changed what is stored`).toEqual(before)
    }
    // Still alive and well.
    expect((await fetch(`${server.url}/api/health`)).status).toBe(200)
  })

  it('a hostile query string over Node\'s header limit (seed -551960964 makes 24 KB of emoji) is a 4xx JSON error, not a bare 431', async () => {
    const route = routesOf(server.app).find((r) => r.method === 'GET')!
    for (const as of [null, admin]) {
      await fc.assert(
        fc.asyncProperty(hostileQuery, async (query) => {
          const answer = await send(route, as, query, undefined)
          if (answer.status >= 400 || query.length > 16_384) expectClearError(route, answer, query)
        }),
        { numRuns: RUNS_PER_ROUTE, seed: -551960964 },
      )
    }
  })

  it('every /rooms client event answers hostile payloads with an error ack (or accepts only what its schema accepts); nothing stored changes', async () => {
    const before = await state()
    let socket: RoomsClient = await connectRooms(server.url)
    const sockets = [socket]
    const ackOf = async (event: string, payload: unknown) => {
      if (!socket.connected) sockets.push((socket = await connectRooms(server.url))) // the flood guard may cut a fast sender off
      inputs++
      const emit = socket.timeout(2000).emitWithAck as unknown as (e: string, p: unknown) => Promise<{ ok: boolean; error?: { code: string } }>
      return emit.call(socket, event, payload).catch(() => ({ ok: false, error: { code: 'disconnected' } }))
    }
    for (const [event, schema] of Object.entries(ROOMS_CLIENT_EVENTS)) {
      // A fresh connection per event: each starts with a full event budget.
      socket.disconnect()
      sockets.push((socket = await connectRooms(server.url)))
      await fc.assert(
        fc.asyncProperty(hostileValue, async (payload) => {
          const ack = await ackOf(event, payload)
          if (ack.ok) expect(schema.safeParse(payload).success, `${event} accepted ${JSON.stringify(payload)?.slice(0, 200)}`).toBe(true)
          else expect([...Object.keys(ERRORS), 'disconnected'], event).toContain(ack.error?.code)
        }),
        { numRuns: RUNS_PER_EVENT },
      )
    }
    for (const s of sockets) s.disconnect()
    // Sockets that joined or left rooms leave no trace in the database.
    expect(await state()).toEqual(before)
    expect((await fetch(`${server.url}/api/health`)).status).toBe(200)
  }, 240_000)
})
