/**
 * The OpenAPI document: generated from the protocol's route table, valid OpenAPI 3.1 (checked by a
 * real validator), covering every route the running app declares, and usable: a request built from
 * the document for each operation reaches the route it documents.
 */
import { Validator } from '@seriousme/openapi-schema-validator'
import { API_ROUTES } from '@sharesync/protocol/api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureAdminBootstrap } from '../src/auth/auth.service'
import { declaredRoutes } from '../src/openapi/express-routes'
import { openApiPath } from '../src/openapi/openapi'
import { startTestServer, type TestServer } from './support/harness'
import { captureLogs } from './support/logs'
import { browserFetch, CookieJar } from './support/oauth'

interface Operation {
  parameters?: { in: string; name: string; required?: boolean; schema?: { type?: string; pattern?: string } }[]
  requestBody?: { content: Record<string, unknown> }
  security?: Record<string, string[]>[]
}
interface Doc {
  openapi: string
  paths: Record<string, Record<string, Operation>>
}

const logs = captureLogs()
let server: TestServer
let doc: Doc

beforeAll(async () => {
  server = await startTestServer({}, { logger: logs.logger })
  doc = (await (await server.fetch('/api/openapi.json')).json()) as Doc
})
afterAll(async () => {
  await server?.close()
})

const key = (method: string, path: string) => `${method.toUpperCase()} ${path}`

describe('GET /api/openapi.json', () => {
  it('is a valid OpenAPI 3.1 document (@seriousme/openapi-schema-validator)', async () => {
    expect(doc.openapi).toBe('3.1.0')
    const result = await new Validator().validate(doc as unknown as Record<string, unknown>)
    expect(result.errors ?? []).toEqual([])
    expect(result.valid).toBe(true)
  })

  it('documents every route the app declares, and no route the app does not have', () => {
    // `GET /` is the web app's stand-in page when the frontend is not built: a page, not the API.
    const declared = declaredRoutes(server.app)
      .filter((r): r is { method: string; path: string } => typeof r.path === 'string' && r.path !== '/')
      .map((r) => key(r.method, r.path))
    const documented = API_ROUTES.map((r) => key(r.method, r.path))
    // A route added without an entry in protocol/src/api fails here, by name.
    expect(declared.filter((r) => !documented.includes(r)), 'routes without documentation (add them to protocol/src/api)').toEqual([])
    expect(documented.filter((r) => !declared.includes(r)), 'documented routes the app does not have').toEqual([])
    expect(new Set(documented).size).toBe(documented.length)
    // The only undocumented routes are the web app's page fallback (a RegExp path).
    expect(declaredRoutes(server.app).filter((r) => typeof r.path !== 'string').every((r) => r.method === 'get')).toBe(true)
  })

  it('every operation has a summary, a tag, responses and a security requirement', () => {
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item) as [string, Operation & { summary?: string; tags?: string[]; responses?: object }][]) {
        expect(op.summary, key(method, path)).toBeTruthy()
        expect(op.tags?.length, key(method, path)).toBe(1)
        expect(Object.keys(op.responses ?? {}).length, key(method, path)).toBeGreaterThan(0)
        expect(op.security?.length, key(method, path)).toBeGreaterThan(0)
      }
    }
  })

  it('a request built from the document for each operation reaches its route (never the API fallback)', async () => {
    // An admin session, so no guard in front of a route answers before the route itself.
    const bootstrap = await ensureAdminBootstrap(server.deps)
    const jar = new CookieJar()
    expect((await browserFetch(jar, `${server.url}${bootstrap}`)).status).toBe(302)
    const expressPathOf = new Map(API_ROUTES.map((r) => [key(r.method, openApiPath(r.path)), r.path]))
    // Sign-out ends the session: it goes last.
    const operations = Object.entries(doc.paths)
      .flatMap(([path, item]) => Object.keys(item).map((method) => ({ path, method, op: item[method]! })))
      .sort((a, b) => Number(a.path === '/api/auth/logout') - Number(b.path === '/api/auth/logout'))
    const missed: string[] = []
    for (const { path, method, op } of operations) {
      const url = new URL(path.replace(/\{([^}]+)\}/g, (_m, name: string) => sample(op, name)), server.url)
      const headers: Record<string, string> = {}
      let body: string | undefined
      const content = Object.keys(op.requestBody?.content ?? {})[0]
      if (content === 'application/json') {
        headers['content-type'] = 'application/json'
        body = '{}'
      } else if (content) {
        headers['content-type'] = content
        body = ''
      }
      const res = await browserFetch(jar, url.toString(), { method: method.toUpperCase(), headers, body })
      const text = method === 'head' ? '' : await res.text()
      const requestId = res.headers.get('x-request-id')
      const line = logs.lines.find((l) => (l.req as { id?: string } | undefined)?.id === requestId && 'route' in l)
      const expected = expressPathOf.get(key(method, path))
      // Health checks are not request-logged: for them, an answer that is not the API fallback is enough.
      const reached = line ? line.route === expected : res.status !== 404 || !text.includes('No such route')
      if (!reached || text.includes('No such route')) missed.push(`${key(method, path)} -> ${res.status} ${String(line?.route)}`)
    }
    expect(missed).toEqual([])
    expect(operations.length).toBe(API_ROUTES.length)
  })
})

/** A value of the path parameter's documented shape: ids match their pattern, numbers are numbers. */
function sample(op: Operation, name: string): string {
  const schema = op.parameters?.find((p) => p.in === 'path' && p.name === name)?.schema
  if (schema?.type === 'integer' || schema?.type === 'number') return '1'
  if (schema?.pattern?.includes('A-Za-z0-9_-')) return 'AAAAAAAAAAAAAAAAAAAAAA'
  return 'sample'
}
