import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Request, Response } from 'express'
import type { Deps } from '../deps'
import type { TokenScope } from '@sharesync/protocol/api'
import { sessionsRepo } from '../db/sessions.repo'
import { AppError } from '../http/app-error'
import { TokenService } from '../tokens/token.service'
import type { SessionUser } from '../http/viewer'
import { sessionMiddleware, userOfSession } from './session.middleware'

declare module 'node:http' {
  interface IncomingMessage {
    /** Set on Socket.IO handshakes by socketSession: the signed-in user, or null. */
    sessionUser?: SessionUser | null
    /** The handshake's session id (the session may end while the connection stays open). */
    sessionId?: string
  }
}

type Next = (err?: unknown) => void

/**
 * Socket.IO engine middleware: reads the session cookie on the handshake request and puts the
 * signed-in user on `socket.request.sessionUser`. The Origin check (realtime.ts allowRequest) runs
 * before it, so a cross-site page never gets a socket that carries the visitor's session.
 * Only the handshake reads the database; later polling requests of the same socket skip it.
 * One engine.io connection can open namespaces long after its handshake: what a namespace grants is
 * checked again when it is opened (`currentSocketUser`).
 */
export function socketSession(deps: Deps): (req: IncomingMessage, res: ServerResponse, next: Next) => void {
  const sessions = sessionMiddleware(deps)
  return (req, res, next) => {
    const isHandshake = !new URL(req.url ?? '/', 'http://socket.invalid').searchParams.has('sid')
    if (!isHandshake) return next()
    // express-session only needs the node request/response (cookie header, Set-Cookie).
    sessions(req as unknown as Request, res as unknown as Response, (err?: unknown) => {
      if (err) return next(err)
      const request = req as unknown as Request
      const userId = request.session?.userId
      userOfSession(deps, userId).then(
        (user) => {
          req.sessionUser = user
          req.sessionId = user ? request.sessionID : undefined
          next()
        },
        (e: unknown) => next(e),
      )
    })
  }
}

/**
 * The signed-in user of a socket as the database says now: its handshake's session still exists
 * and names the user, and the user is enabled, with the role read fresh. Null otherwise.
 */
export async function currentSocketUser(deps: Pick<Deps, 'db'>, req: IncomingMessage): Promise<SessionUser | null> {
  const handshake = req.sessionUser
  if (!handshake || !req.sessionId) return null
  const session = await sessionsRepo.get(deps.db, req.sessionId)
  if (session?.userId !== handshake.id) return null
  return userOfSession(deps, handshake.id)
}

type RefusalCode = 'unauthorized' | 'forbidden' | 'database_unavailable' | 'token_invalid' | 'token_scope_missing'

/** A namespace refusal the client sees as `connect_error` with `err.message` and `err.data.code`. */
function refusal(code: RefusalCode, message: string): Error {
  return Object.assign(new Error(message), { data: { code } })
}

type NamespaceSocket = { request: IncomingMessage; handshake: { auth: Record<string, unknown> }; data: { userId?: string | null }; join(room: string): unknown }

const unavailable = () => refusal('database_unavailable', 'Your account could not be checked, please try again shortly.')

/**
 * Who a socket speaks for when it opens a namespace: a personal API token given in the namespace's
 * auth payload (`io(url, { auth: { token } })`, for scripts and the CLI), checked now and held to
 * `scope`; otherwise the handshake's session, re-checked now. Null: anonymous. A token that is
 * malformed, unknown, revoked, expired, of a disabled user, or lacks the scope refuses the namespace
 * (a client that sent a credential is never silently treated as anonymous). A token socket joins the
 * token's room, so revoking the token closes it.
 */
async function socketCredential(deps: Pick<Deps, 'db' | 'events'>, socket: NamespaceSocket, scope: TokenScope): Promise<SessionUser | null> {
  const given = socket.handshake.auth?.token
  if (given === undefined) return currentSocketUser(deps, socket.request)
  if (typeof given !== 'string') throw refusal('token_invalid', 'Send an API token as auth: { token: "sst_…" }.')
  let viewer
  try {
    viewer = await new TokenService(deps).authenticate(given)
  } catch (err) {
    if (err instanceof AppError && err.code === 'token_invalid') throw refusal('token_invalid', err.message)
    throw err
  }
  if (!viewer.token.scopes.includes(scope)) throw refusal('token_scope_missing', `This API token lacks the "${scope}" scope.`)
  socket.join(tokenRoom(viewer.token.id))
  return viewer.user
}

/** Runs a namespace check, turning a database failure into a refusal the client can read. */
function check(next: (err?: Error) => void, work: () => Promise<void>): void {
  work().then(
    () => next(),
    (err: unknown) => next(err instanceof Error && 'data' in err ? err : unavailable()),
  )
}

/**
 * Namespace middleware: puts the user (re-checked now) into socket.data (rooms read `userId`). An
 * API token needs `scope` (rooms: `upload`, what sending as the user takes).
 */
export function socketUser(deps: Pick<Deps, 'db' | 'events'>, scope: TokenScope = 'upload'): (socket: NamespaceSocket, next: (err?: Error) => void) => void {
  return (socket, next) => {
    if (!socket.request.sessionUser && socket.handshake.auth?.token === undefined) {
      socket.data.userId = null
      return next()
    }
    check(next, async () => {
      socket.data.userId = (await socketCredential(deps, socket, scope))?.id ?? null
    })
  }
}

/** Namespace middleware for a signed-in user's own feed: a session, or an API token with `scope`. */
export function requireUserSocket(deps: Pick<Deps, 'db' | 'events'>, scope: TokenScope, message: string): (socket: NamespaceSocket, next: (err?: Error) => void) => void {
  return (socket, next) => {
    check(next, async () => {
      const user = await socketCredential(deps, socket, scope)
      if (!user) throw refusal('unauthorized', message)
      socket.data.userId = user.id
    })
  }
}

/**
 * Namespace middleware for admin-only namespaces (the live admin feed): the socket's user must be an
 * admin now, read from the database when the namespace is opened (not at the engine handshake,
 * which may be from before a demotion). An API token needs the `admin` scope. Sets socket.data.userId.
 */
export function requireAdminSocket(deps: Pick<Deps, 'db' | 'events'>): (socket: NamespaceSocket, next: (err?: Error) => void) => void {
  return (socket, next) => {
    check(next, async () => {
      const user = await socketCredential(deps, socket, 'admin')
      if (!user) throw refusal('unauthorized', 'Sign in as an administrator.')
      if (user.role !== 'admin') throw refusal('forbidden', 'Only an administrator can open the dashboard feed.')
      socket.data.userId = user.id
    })
  }
}

/** The room every socket opened with an API token joins in its namespace: revoking the token closes them all. */
export const tokenRoom = (tokenId: string) => `token:${tokenId}`

/** The room every socket of a signed-in user joins in its namespace: how all its connections are found, on every instance. */
export const userRoom = (userId: string) => `user:${userId}`
