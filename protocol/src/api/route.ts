import type { z } from 'zod'
import type { ErrorCode } from '../errors'

/**
 * The API's route table: every HTTP route of the server is described here once, with the protocol's
 * own zod schemas. The OpenAPI document (`GET /api/openapi.json`) is generated from it, and the
 * server reads it to decide which personal API token scope a route needs. A test fails when the
 * server has a route this table does not describe.
 */

/** What a personal API token may be allowed to do. */
export const TOKEN_SCOPES = ['upload', 'read', 'delete', 'manage', 'admin'] as const
export type TokenScope = (typeof TOKEN_SCOPES)[number]

/**
 * Who may call a route:
 * - `public`: anyone. A session or an API token only decides whose limits apply (and who owns what is
 *   made); a token needs `scope` when the route names one.
 * - `signed`: the URL's signature is the credential (part uploads and files of the disk store).
 * - `session`: the browser's sign-in session only (sign-in and sign-out); API tokens are refused.
 * - `user`: a signed-in user: their session, or their API token with `scope`.
 * - `owner`: the share's owner: signed in (session, or API token with `scope`), or `X-Owner-Token`.
 * - `admin`: an administrator's session, or an administrator's API token with the `admin` scope.
 */
export type RouteAuth = 'public' | 'signed' | 'session' | 'user' | 'owner' | 'admin'

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete' | 'head'

/** A response that is not JSON (a redirect, a file, a stream) or has no body. */
export interface RawAnswer {
  description: string
  /** media type of the body; absent: no body */
  contentType?: string
  schema?: z.ZodType
  /** response headers worth knowing, name -> description */
  headers?: Record<string, string>
}

export interface RouteDoc {
  method: HttpMethod
  /** the Express pattern, exactly as the server declares it: `/api/shares/:id` */
  path: string
  /** the reference page's section */
  tag: string
  summary: string
  description?: string
  auth: RouteAuth
  /** the API token scope a `user` or `owner` route needs (`admin` routes need `admin`) */
  scope?: TokenScope
  /** path parameters; without it every `:name` is a plain string */
  params?: z.ZodObject
  query?: z.ZodObject
  headers?: z.ZodObject
  /** a JSON request body */
  body?: z.ZodType
  /** a body that is not JSON (streamed files, multipart forms) */
  rawBody?: { contentType: string; description: string; schema?: z.ZodType }
  /** status -> a JSON schema, or a non-JSON answer */
  responses: Record<number, z.ZodType | RawAnswer>
  /** the error codes (protocol/src/errors.ts) this route answers on purpose */
  errors?: ErrorCode[]
}

/** Keeps each feature's list typed without repeating the type. */
export function routes(list: RouteDoc[]): RouteDoc[] {
  return list
}

/** The scope an API token needs for a route, or null when tokens cannot call it at all. */
export function requiredScope(route: Pick<RouteDoc, 'auth' | 'scope'>): TokenScope | 'any' | null {
  switch (route.auth) {
    case 'public':
      // Open to anyone; acting as the account through a token needs the route's scope, if it names one.
      return route.scope ?? 'any'
    case 'signed':
      return 'any'
    case 'session':
      return null
    case 'admin':
      return 'admin'
    case 'user':
    case 'owner':
      return route.scope ?? null
  }
}
