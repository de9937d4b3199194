import type { Request, RequestHandler } from 'express'
import session from 'express-session'
import type { Deps } from '../deps'
import { usersRepo, type UserRow } from '../db/users.repo'
import { AppError } from '../http/app-error'
import { viewerOf, type SessionUser } from '../http/viewer'
import { DbSessionStore } from './db-session-store'
import { bearerOf, checkScope } from '../tokens/bearer'
import type { TokenService } from '../tokens/token.service'

declare module 'express-session' {
  interface SessionData {
    /** the signed-in user; absent for an anonymous session that only holds OAuth state */
    userId?: string
    /** where to land after Google sign-in (already checked to be a same-origin path) */
    returnTo?: string
  }
}

export const SESSION_COOKIE = 'sharesync.sid'
const SESSION_MAX_AGE_MS = 30 * 86_400_000

/**
 * The express-session middleware: rows in the database, cookie HttpOnly + SameSite=Lax, Secure on
 * an https PUBLIC_URL (or when the request itself is https, behind a trusted proxy). No session is
 * stored until something is put in it (saveUninitialized: false), so anonymous visitors cost nothing.
 * Also used on the Socket.IO handshake, so it works on a bare node request.
 */
export function sessionMiddleware(deps: Deps): RequestHandler {
  const httpsPublicUrl = deps.config.publicUrl?.startsWith('https://') ?? false
  return session({
    name: SESSION_COOKIE,
    secret: deps.config.sessionSecret,
    store: new DbSessionStore(deps.db, deps.logger),
    resave: false,
    saveUninitialized: false,
    rolling: false,
    unset: 'destroy',
    // With an https PUBLIC_URL the cookie is always Secure; TLS usually ends at a proxy in front.
    proxy: httpsPublicUrl ? true : undefined,
    cookie: { httpOnly: true, sameSite: 'lax', secure: httpsPublicUrl ? true : 'auto', maxAge: SESSION_MAX_AGE_MS, path: '/' },
  })
}

export function toSessionUser(row: UserRow): SessionUser {
  return { id: row.id, email: row.email, name: row.name, avatarUrl: row.avatar_url, role: row.role }
}

/** The signed-in user of a session, or null (no session, unknown or disabled user). */
export async function userOfSession(deps: Pick<Deps, 'db'>, userId: string | undefined): Promise<SessionUser | null> {
  if (!userId) return null
  const row = await usersRepo.findById(deps.db, userId)
  // A disabled user is treated as signed out; the role is read fresh so a demotion acts at once.
  return row && !row.disabled_at ? toSessionUser(row) : null
}

/**
 * Mounted before the API routes (server.ts `before`): the session (API paths only — static files
 * need none), then `req.viewer` from the session's user or from an API token, then the role check of
 * /api/admin/*. A request with `Authorization` is a token request: its cookies are never read (so a
 * cookie cannot pass as a token, and the origin check, which guards cookies, lets it through), the
 * token must be valid (401 otherwise, never anonymous) and hold the route's scope.
 */
export function authMiddlewares(deps: Deps, tokens: Pick<TokenService, 'authenticate'>): RequestHandler[] {
  const sessions = sessionMiddleware(deps)
  const onApi = (req: Request) => req.path.startsWith('/api/')
  // Only the sign-in routes (/api/auth/…) start a session; elsewhere a request without the session
  // cookie has none to load, so it skips the session machinery (a new id, hooks on the response).
  const mayHaveSession = (req: Request) => req.path.startsWith('/api/auth/') || (req.headers.cookie?.includes(`${SESSION_COOKIE}=`) ?? false)
  const session: RequestHandler = (req, res, next) =>
    onApi(req) && req.get('authorization') === undefined && mayHaveSession(req) ? sessions(req, res, next) : next()
  const viewer: RequestHandler = async (req, _res, next) => {
    const bearer = onApi(req) ? bearerOf(req) : undefined
    if (bearer !== undefined) {
      const found = await tokens.authenticate(bearer)
      req.viewer = { ...viewerOf(req, found.user, deps.config.rateLimits.ipv6Prefix), token: found.token }
      checkScope(req, found)
      return next()
    }
    const userId = req.session?.userId
    // No one signed in: the anonymous viewer the app set for every request stands (no await, no copy).
    if (!userId) return next()
    req.viewer = viewerOf(req, await userOfSession(deps, userId), deps.config.rateLimits.ipv6Prefix)
    next()
  }
  const adminGate: RequestHandler = (req, _res, next) => {
    if (req.path === '/api/admin' || req.path.startsWith('/api/admin/')) requireAdmin(req)
    next()
  }
  return [session, viewer, adminGate]
}

/** The signed-in user, or 401. */
export function requireUser(req: { viewer: { user: SessionUser | null } }): SessionUser {
  const user = req.viewer.user
  if (!user) throw new AppError('unauthorized', 'Sign in to do this.')
  return user
}

/** An admin, or 401 (anonymous) / 403 (signed in without the role). Checked on the server, per request. */
export function requireAdmin(req: { viewer: { user: SessionUser | null } }): SessionUser {
  const user = requireUser(req)
  if (user.role !== 'admin') throw new AppError('forbidden', 'Only an administrator can do this.')
  return user
}

/** Guards as middleware, for routers that prefer `router.use(requireUserMw)`. */
export const requireUserMw: RequestHandler = (req, _res, next) => {
  requireUser(req)
  next()
}
export const requireAdminMw: RequestHandler = (req, _res, next) => {
  requireAdmin(req)
  next()
}
