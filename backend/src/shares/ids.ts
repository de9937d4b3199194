import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

/**
 * 128 random bits, base64url: share ids, file ids, owner tokens. Never starting with '-' (one draw in
 * 64 would), so that an id given alone on a command line (`sharesync delete <id>`) is never read as
 * an option; the first character then has 63 values, the id still ~127.98 bits.
 */
export function newId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url')
    if (id[0] !== '-') return id
  }
}

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
