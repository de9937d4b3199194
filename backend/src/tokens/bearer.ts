import { API_ROUTES, requiredScope, type RouteDoc } from '@sharesync/protocol/api'
import type { Request } from 'express'
import { match } from 'path-to-regexp'
import { AppError } from '../http/app-error'
import type { TokenViewer } from './token.service'

/**
 * The token of `Authorization: Bearer <token>`, or undefined without an Authorization header. Any
 * other Authorization on an API path is refused rather than ignored: a client that sent a credential
 * must not silently be treated as anonymous.
 */
export function bearerOf(req: Request): string | undefined {
  const header = req.get('authorization')
  if (header === undefined) return undefined
  const m = /^Bearer[ ]+(\S{1,200})[ ]*$/i.exec(header)
  if (!m) throw new AppError('token_invalid', 'Send an API token as `Authorization: Bearer <token>`.')
  return m[1]!
}

const matchers = API_ROUTES.map((route) => ({ route, test: match(route.path, { decode: false }) }))

/** The documented route a request is for (HEAD falls back to GET, as Express does). */
export function routeOf(method: string, path: string): RouteDoc | undefined {
  const m = method.toLowerCase()
  const found = (wanted: string) => matchers.find((x) => x.route.method === wanted && x.test(path) !== false)?.route
  return found(m) ?? (m === 'head' ? found('get') : undefined)
}

/**
 * What an API token may call, from the route table: `session` routes refuse tokens, others need the
 * scope the table names. Unknown paths pass (they end at the API's 404).
 */
export function checkScope(req: Pick<Request, 'method' | 'path'>, viewer: TokenViewer): void {
  const route = routeOf(req.method, req.path)
  if (!route) return
  const scope = requiredScope(route)
  if (scope === null) throw new AppError('token_not_accepted', 'This can only be done signed in, in the web app: API tokens are refused here.')
  if (scope !== 'any' && !viewer.token.scopes.includes(scope)) {
    throw new AppError('token_scope_missing', `This API token lacks the "${scope}" scope.`, { details: { needed: scope } })
  }
}
