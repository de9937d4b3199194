import { ERRORS, type ErrorCode } from '@sharesync/protocol'
import { API_ROUTES, requiredScope, type RawAnswer, type RouteDoc } from '@sharesync/protocol/api'
import { z } from 'zod'
import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiPathsObject, type ZodOpenApiResponseObject } from 'zod-openapi'

const ErrorBody = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(ERRORS) as [ErrorCode, ...ErrorCode[]]),
      message: z.string().meta({ description: 'a human sentence' }),
      details: z.unknown().optional(),
    }),
  })
  .meta({ id: 'Error', description: 'Every error: `{ error: { code, message } }`, the code from one table.' })

/** `/api/shares/:id` -> `/api/shares/{id}`; Express wildcards (`*key`) become one parameter too. */
export function openApiPath(expressPath: string): string {
  return expressPath.replace(/[:*]([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}')
}

function pathParams(route: RouteDoc): z.ZodObject | undefined {
  if (route.params) return route.params
  const names = [...route.path.matchAll(/[:*]([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!)
  return names.length ? z.object(Object.fromEntries(names.map((n) => [n, z.string()]))) : undefined
}

function isRaw(answer: z.ZodType | RawAnswer): answer is RawAnswer {
  return !(answer instanceof z.ZodType)
}

function response(answer: z.ZodType | RawAnswer): ZodOpenApiResponseObject {
  if (!isRaw(answer)) return { description: answer.meta()?.description ?? 'OK', content: { 'application/json': { schema: answer } } }
  const headers = answer.headers ? Object.fromEntries(Object.entries(answer.headers).map(([name, description]) => [name, { description, schema: { type: 'string' as const } }])) : undefined
  return {
    description: answer.description,
    ...(headers ? { headers } : {}),
    ...(answer.contentType ? { content: { [answer.contentType]: { schema: answer.schema ?? { type: 'string', format: 'binary' } } } } : {}),
  }
}

/** The error codes a route answers, grouped by status, each group one response. */
function errorResponses(route: RouteDoc): Record<string, ZodOpenApiResponseObject> {
  const codes = new Set<ErrorCode>(route.errors ?? [])
  if (route.body || route.query || route.params) codes.add('invalid_input')
  if (route.body) codes.add('invalid_json')
  if (route.auth === 'user' || route.auth === 'admin') codes.add('unauthorized')
  if (route.auth === 'admin') codes.add('forbidden')
  const byStatus = new Map<number, ErrorCode[]>()
  for (const code of codes) byStatus.set(ERRORS[code], [...(byStatus.get(ERRORS[code]) ?? []), code])
  return Object.fromEntries(
    [...byStatus].map(([status, list]) => [String(status), { description: list.map((c) => `\`${c}\``).join(', '), content: { 'application/json': { schema: ErrorBody } } }]),
  )
}

/** Who may call the route, in a sentence for the reference. */
function whoMayCall(route: RouteDoc): string {
  const scope = requiredScope(route)
  const token = scope && scope !== 'any' ? `a personal API token with the \`${scope}\` scope` : 'a personal API token'
  switch (route.auth) {
    case 'public':
      return scope && scope !== 'any' ? `Anyone. To act as an account: its session, or ${token}.` : 'Anyone.'
    case 'signed':
      return 'The signed URL is the credential.'
    case 'session':
      return 'The browser\'s sign-in session only; API tokens are refused.'
    case 'user':
      return `Signed in: session, or ${token}.`
    case 'owner':
      return `The share's owner: signed in (session, or ${token}), or its \`X-Owner-Token\`.`
    case 'admin':
      return `An administrator: session, or ${token} of an administrator.`
  }
}

function security(route: RouteDoc): ZodOpenApiOperationObject['security'] {
  const scope = requiredScope(route)
  const bearer = scope === null ? [] : [{ bearer: scope === 'any' ? [] : [scope] }]
  switch (route.auth) {
    case 'public':
      return [{}, { session: [] }, ...bearer]
    case 'signed':
      return [{}]
    case 'session':
      return [{ session: [] }]
    case 'owner':
      return [{ session: [] }, ...bearer, { ownerToken: [] }]
    case 'user':
    case 'admin':
      return [{ session: [] }, ...bearer]
  }
}

function operation(route: RouteDoc): ZodOpenApiOperationObject {
  const path = pathParams(route)
  const body = route.body
    ? { required: true, content: { 'application/json': { schema: route.body } } }
    : route.rawBody
      ? { required: true, description: route.rawBody.description, content: { [route.rawBody.contentType]: { schema: route.rawBody.schema ?? { type: 'string' as const, format: 'binary' } } } }
      : undefined
  return {
    operationId: operationId(route),
    tags: [route.tag],
    summary: route.summary,
    description: [route.description, `**Who:** ${whoMayCall(route)}`].filter(Boolean).join('\n\n'),
    ...(path || route.query || route.headers ? { requestParams: { ...(path ? { path } : {}), ...(route.query ? { query: route.query } : {}), ...(route.headers ? { header: route.headers } : {}) } } : {}),
    ...(body ? { requestBody: body } : {}),
    responses: {
      ...Object.fromEntries(Object.entries(route.responses).map(([status, answer]) => [status, response(answer)])),
      ...errorResponses(route),
    },
    security: security(route),
  }
}

/** `get /api/shares/:id/files/:fileId/parts` -> `getApiSharesIdFilesFileIdParts` */
function operationId(route: RouteDoc): string {
  const words = route.path.split(/[^A-Za-z0-9]+/).filter(Boolean)
  return route.method + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('')
}

export interface OpenApiOptions {
  version: string
  /** the public URL of this server, when known */
  serverUrl?: string
}

/** The OpenAPI 3.1 document of every route in the protocol's route table. */
export function openApiDocument(opts: OpenApiOptions, routes: readonly RouteDoc[] = API_ROUTES): ReturnType<typeof createDocument> {
  const paths: ZodOpenApiPathsObject = {}
  for (const route of routes) {
    const item = (paths[openApiPath(route.path)] ??= {})
    if (item[route.method]) throw new Error(`${route.method.toUpperCase()} ${route.path} is described twice`)
    item[route.method] = operation(route)
  }
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'ShareSync API',
      version: opts.version,
      description:
        'Self-hosted file sharing: cloud links and peer-to-peer rooms. Every error is `{ "error": { "code", "message" } }`. ' +
        'Scripts authenticate with a personal API token (`Authorization: Bearer …`, made on the account menu\'s "API tokens" page); ' +
        'each token carries scopes: `upload`, `read`, `delete`, `manage`, `admin`.',
    },
    servers: [{ url: opts.serverUrl ?? '/' }],
    paths,
    components: {
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: 'sharesync.sid', description: 'The web app\'s sign-in session (state-changing requests must come from the app\'s origin).' },
        bearer: { type: 'http', scheme: 'bearer', description: 'A personal API token; the security requirement lists the scope it needs.' },
        ownerToken: { type: 'apiKey', in: 'header', name: 'X-Owner-Token', description: 'The `ownerToken` an anonymous upload was given.' },
      },
    },
  })
}
