import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Request, Response } from 'express'
import type { Deps } from '../deps'
import type { SessionUser } from '../http/viewer'
import { sessionMiddleware, userOfSession } from './session.middleware'

declare module 'node:http' {
  interface IncomingMessage {
    /** Set on Socket.IO handshakes by socketSession: the signed-in user, or null. */
    sessionUser?: SessionUser | null
  }
}

type Next = (err?: unknown) => void

/**
 * Socket.IO engine middleware: reads the session cookie on the handshake request and puts the
 * signed-in user on `socket.request.sessionUser`. The Origin check (realtime.ts allowRequest) runs
 * before it, so a cross-site page never gets a socket that carries the visitor's session.
 * Only the handshake reads the database; later polling requests of the same socket skip it.
 */
export function socketSession(deps: Deps): (req: IncomingMessage, res: ServerResponse, next: Next) => void {
  const sessions = sessionMiddleware(deps)
  return (req, res, next) => {
    const isHandshake = !new URL(req.url ?? '/', 'http://socket.invalid').searchParams.has('sid')
    if (!isHandshake) return next()
    // express-session only needs the node request/response (cookie header, Set-Cookie).
    sessions(req as unknown as Request, res as unknown as Response, (err?: unknown) => {
      if (err) return next(err)
      const userId = (req as unknown as Request).session?.userId
      userOfSession(deps, userId).then(
        (user) => {
          req.sessionUser = user
          next()
        },
        (e: unknown) => next(e),
      )
    })
  }
}

/** Namespace middleware: copies the handshake's user into socket.data (rooms read `userId`). */
export function socketUser(socket: { request: IncomingMessage; data: { userId?: string | null } }, next: () => void): void {
  socket.data.userId = socket.request.sessionUser?.id ?? null
  next()
}

/**
 * Namespace middleware for admin-only namespaces/rooms (the live admin feed): the handshake's session
 * must belong to an admin, checked on the server when the socket connects.
 */
export function requireAdminSocket(socket: { request: IncomingMessage }, next: (err?: Error) => void): void {
  const user = socket.request.sessionUser
  if (!user) return next(new Error('unauthorized'))
  if (user.role !== 'admin') return next(new Error('forbidden'))
  next()
}
