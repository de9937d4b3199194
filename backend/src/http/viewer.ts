import type { Request } from 'express'

export type Role = 'user' | 'admin'

export interface SessionUser {
  id: string
  email: string
  name: string
  avatarUrl: string | null
  role: Role
}

/** Who is asking: a signed-in user or an anonymous client, and the key their limits count on. */
export interface Viewer {
  user: SessionUser | null
  /** rate-limit / quota key: the user id when signed in, else the client address */
  clientKey: string
  ip: string
}

declare module 'express-serve-static-core' {
  interface Request {
    viewer: Viewer
  }
}

/** req.ip honours TRUST_PROXY: with it off (default) a forged X-Forwarded-For changes nothing. */
export function viewerOf(req: Request, user: SessionUser | null): Viewer {
  const ip = req.ip ?? req.socket.remoteAddress ?? 'unknown'
  return { user, ip, clientKey: user ? `user:${user.id}` : `ip:${ip}` }
}
