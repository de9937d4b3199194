import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Request, Response } from 'express'
import type { Deps } from '../deps'
import { sessionsRepo } from '../db/sessions.repo'
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

/** A namespace refusal the client sees as `connect_error` with `err.message` and `err.data.code`. */
function refusal(code: 'unauthorized' | 'forbidden' | 'database_unavailable', message: string): Error {
  return Object.assign(new Error(message), { data: { code } })
}

type NamespaceSocket = { request: IncomingMessage; data: { userId?: string | null } }

/** Namespace middleware: puts the user (re-checked now) into socket.data (rooms read `userId`). */
export function socketUser(deps: Pick<Deps, 'db'>): (socket: NamespaceSocket, next: (err?: Error) => void) => void {
  return (socket, next) => {
    if (!socket.request.sessionUser) {
      socket.data.userId = null
      return next()
    }
    currentSocketUser(deps, socket.request).then(
      (user) => {
        socket.data.userId = user?.id ?? null
        next()
      },
      () => next(refusal('database_unavailable', 'Your account could not be checked, please try again shortly.')),
    )
  }
}

/**
 * Namespace middleware for admin-only namespaces (the live admin feed): the socket's user must be an
 * admin now, read from the database when the namespace is opened (not at the engine handshake,
 * which may be from before a demotion). Sets socket.data.userId.
 */
export function requireAdminSocket(deps: Pick<Deps, 'db'>): (socket: NamespaceSocket, next: (err?: Error) => void) => void {
  return (socket, next) => {
    currentSocketUser(deps, socket.request).then(
      (user) => {
        if (!user) return next(refusal('unauthorized', 'Sign in as an administrator.'))
        if (user.role !== 'admin') return next(refusal('forbidden', 'Only an administrator can open the dashboard feed.'))
        socket.data.userId = user.id
        next()
      },
      () => next(refusal('database_unavailable', 'Your account could not be checked, please try again shortly.')),
    )
  }
}

/** The room every socket of a signed-in user joins in its namespace: how all its connections are found, on every instance. */
export const userRoom = (userId: string) => `user:${userId}`
