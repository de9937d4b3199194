import type { TokenScope } from '@sharesync/protocol/api'
import type { Request } from 'express'
import { addressKey } from './client-address'

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
  /** rate-limit / quota key: the user id when signed in, else the client's address key */
  clientKey: string
  ip: string
  /** the client's address as rate limits count it: IPv4 by address, IPv6 by network (client-address.ts) */
  address: string
  /** set when the request carries a valid API token (`Authorization: Bearer`) instead of a session */
  token?: { id: string; scopes: readonly TokenScope[] }
}

declare module 'express-serve-static-core' {
  interface Request {
    viewer: Viewer
  }
}

/** req.ip honours TRUST_PROXY: with it off (default) a forged X-Forwarded-For changes nothing. */
export function viewerOf(req: Request, user: SessionUser | null, ipv6Prefix: number): Viewer {
  const ip = req.ip ?? req.socket.remoteAddress ?? 'unknown'
  const address = addressKey(ip, ipv6Prefix)
  return { user, ip, address, clientKey: user ? `user:${user.id}` : `ip:${address}` }
}
