import { createHash, randomBytes } from 'node:crypto'
import { ReconnectToken } from '@sharesync/protocol'

/**
 * Reconnect tokens: `<roomId>.<peerId>.<secret>`. The secret is 128 random bits; the server keeps
 * only its SHA-256 next to the member, and replaces it on every use, so a token works once, only for
 * its own room and peer, and a copy of the stored hash cannot be replayed.
 */
export interface IssuedToken {
  token: string
  /** what the room store keeps */
  hash: string
}

export interface ParsedToken {
  roomId: string
  peerId: string
  hash: string
}

export function issueToken(roomId: string, peerId: string): IssuedToken {
  const secret = randomBytes(16).toString('base64url')
  return { token: `${roomId}.${peerId}.${secret}`, hash: hashSecret(secret) }
}

/** The token's parts, or null when it is not one. */
export function parseToken(token: string): ParsedToken | null {
  if (!ReconnectToken.safeParse(token).success) return null
  const [roomId, peerId, secret] = token.split('.') as [string, string, string]
  return { roomId, peerId, hash: hashSecret(secret) }
}

function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url')
}
