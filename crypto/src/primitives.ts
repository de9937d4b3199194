import { gcm } from '@noble/ciphers/aes.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'

/**
 * The two primitives the format needs, HKDF-SHA256 and AES-256-GCM, behind one small interface with
 * two implementations: WebCrypto (browsers in a secure context, Node) and the audited pure-JS
 * @noble libraries, for plain-http origins where browsers hide `crypto.subtle`. Both produce the
 * same bytes (the tests check them against each other and against Node's own crypto).
 */

export type Bytes = Uint8Array<ArrayBuffer>

export interface AeadKey {
  /** ciphertext ‖ 16-byte tag */
  seal(nonce: Bytes, aad: Bytes, plain: Uint8Array): Promise<Bytes>
  /** Rejects (AuthenticationError) when the tag does not match. */
  open(nonce: Bytes, aad: Bytes, sealed: Uint8Array): Promise<Bytes>
}

export interface Primitives {
  readonly name: 'webcrypto' | 'js'
  hkdf(ikm: Uint8Array, info: Uint8Array, length: number): Promise<Bytes>
  aesGcm(rawKey: Uint8Array): Promise<AeadKey>
}

/** The tag did not verify: wrong key, or the bytes were changed. */
export class AuthenticationError extends Error {
  constructor() {
    super('authentication failed')
    this.name = 'AuthenticationError'
  }
}

const EMPTY = new Uint8Array(0)
const copy = (b: Uint8Array): Bytes => new Uint8Array(b)
/** WebCrypto wants views on plain ArrayBuffers; copy only when given something else. */
const own = (b: Uint8Array): Bytes => (b.buffer instanceof ArrayBuffer ? (b as Bytes) : copy(b))

function subtle(): SubtleCrypto | null {
  const c = (globalThis as { crypto?: Crypto }).crypto
  return c?.subtle && typeof c.subtle.importKey === 'function' ? c.subtle : null
}

export function webCrypto(): Primitives {
  const s = subtle()
  if (!s) throw new Error('WebCrypto is not available here')
  return {
    name: 'webcrypto',
    async hkdf(ikm, info, length) {
      const base = await s.importKey('raw', own(ikm), 'HKDF', false, ['deriveBits'])
      return new Uint8Array(await s.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: EMPTY, info: own(info) }, base, length * 8))
    },
    async aesGcm(rawKey) {
      const key = await s.importKey('raw', own(rawKey), 'AES-GCM', false, ['encrypt', 'decrypt'])
      return {
        async seal(nonce, aad, plain) {
          return new Uint8Array(await s.encrypt({ name: 'AES-GCM', iv: nonce, additionalData: aad, tagLength: 128 }, key, own(plain)))
        },
        async open(nonce, aad, sealed) {
          try {
            return new Uint8Array(await s.decrypt({ name: 'AES-GCM', iv: nonce, additionalData: aad, tagLength: 128 }, key, own(sealed)))
          } catch {
            throw new AuthenticationError()
          }
        },
      }
    },
  }
}

export function pureJs(): Primitives {
  return {
    name: 'js',
    async hkdf(ikm, info, length) {
      return copy(hkdf(sha256, ikm, undefined, info, length))
    },
    async aesGcm(rawKey) {
      const key = copy(rawKey)
      return {
        async seal(nonce, aad, plain) {
          return copy(gcm(key, nonce, aad).encrypt(plain))
        },
        async open(nonce, aad, sealed) {
          try {
            return copy(gcm(key, nonce, aad).decrypt(sealed))
          } catch {
            throw new AuthenticationError()
          }
        },
      }
    },
  }
}

/** WebCrypto where it exists, else the pure-JS implementation. */
export function defaultPrimitives(): Primitives {
  return subtle() ? webCrypto() : pureJs()
}

export function randomBytes(n: number): Bytes {
  const b = new Uint8Array(n)
  globalThis.crypto.getRandomValues(b)
  return b
}

export function concat(...parts: Uint8Array[]): Bytes {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.byteLength
  }
  return out
}

export const utf8 = (s: string): Bytes => new TextEncoder().encode(s)

export function base64url(bytes: Uint8Array): string {
  let bin = ''
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/** Strict: only the base64url alphabet, no padding, no whitespace; null otherwise. */
export function fromBase64url(text: string): Bytes | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return null
  const bin = atob(text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4))
  const out = new Uint8Array(bin.length)
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i)
  // Non-canonical trailing bits would let two strings name one key: refuse them.
  return base64url(out) === text ? out : null
}

export const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
