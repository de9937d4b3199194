import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

/** 128 random bits, base64url: share ids, file ids, owner tokens. */
export const newId = () => randomBytes(16).toString('base64url')

/** Storage keys are server-generated, never derived from file names. */
export const newStorageKey = (shareId: string) => `${shareId.slice(0, 2)}/${shareId}/${newId()}`

/** Owner tokens are stored hashed; a leaked database does not let anyone delete shares. */
export const hashToken = (token: string) => createHash('sha256').update(token).digest('base64url')

export function tokenMatches(token: string | undefined, hash: string | null): boolean {
  if (!token || !hash) return false
  const a = Buffer.from(hashToken(token))
  const b = Buffer.from(hash)
  return a.length === b.length && timingSafeEqual(a, b)
}
