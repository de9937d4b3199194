import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto'
import pLimit from 'p-limit'

/**
 * Share passwords: scrypt at OWASP's parameters (N=2^17, r=8, p=1: 128 MiB and a few hundred ms
 * per derivation). Hashes are `scrypt$N$r$p$salt$key`, so hashes made with older parameters still
 * verify, and `needsRehash` tells when one should be replaced by a hash at today's parameters.
 */
const PARAMS = { N: 2 ** 17, r: 8, p: 1 }
const KEY_LENGTH = 32
/** Bounds what a stored hash may ask for (a corrupt row must not make us allocate gigabytes). */
const MAX_N = 2 ** 20
const maxmem = (o: { N: number; r: number; p: number }) => 128 * o.N * o.r * o.p + 32 * 1024 * 1024
/**
 * Each derivation holds 128 MiB and a libuv thread (shared with file I/O): two at a time keep
 * memory bounded and leave threads for the disk store; the rest wait their turn.
 */
const derivations = pLimit(2)

function derive(password: string, salt: Buffer, o: { N: number; r: number; p: number }): Promise<Buffer> {
  const opts: ScryptOptions = { ...o, maxmem: maxmem(o) }
  return derivations(
    () =>
      new Promise<Buffer>((resolve, reject) => {
        scrypt(password.normalize('NFC'), salt, KEY_LENGTH, opts, (err, key) => (err ? reject(err) : resolve(key)))
      }),
  )
}

interface Parsed {
  N: number
  r: number
  p: number
  salt: Buffer
  key: Buffer
}

function parse(stored: string): Parsed | null {
  const [scheme, n, r, p, salt, key, ...rest] = stored.split('$')
  if (scheme !== 'scrypt' || !salt || !key || rest.length > 0) return null
  const N = Number(n)
  const R = Number(r)
  const P = Number(p)
  const powerOfTwo = Number.isInteger(N) && N >= 2 && N <= MAX_N && (N & (N - 1)) === 0
  if (!powerOfTwo || !Number.isInteger(R) || R < 1 || R > 32 || !Number.isInteger(P) || P < 1 || P > 16) return null
  return { N, r: R, p: P, salt: Buffer.from(salt, 'base64url'), key: Buffer.from(key, 'base64url') }
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16)
  const key = await derive(password, salt, PARAMS)
  return `scrypt$${PARAMS.N}$${PARAMS.r}$${PARAMS.p}$${salt.toString('base64url')}$${key.toString('base64url')}`
}

/** Constant-time comparison; a hash this code cannot read never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parse(stored)
  if (!parsed || parsed.key.length === 0) return false
  const actual = await derive(password, parsed.salt, parsed)
  return actual.length === parsed.key.length && timingSafeEqual(actual, parsed.key)
}

/** True when `stored` was made with weaker parameters than today's (it is upgraded on the next right entry). */
export function needsRehash(stored: string): boolean {
  const parsed = parse(stored)
  return !parsed || parsed.N < PARAMS.N || parsed.r < PARAMS.r || parsed.p < PARAMS.p
}
