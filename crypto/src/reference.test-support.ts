/**
 * An independent implementation of format version 1, written from docs/encryption.md with Node's own
 * crypto (OpenSSL) and @noble's Argon2id, sharing no code with the module under test. The tests check
 * the module, the fixed vectors and this reference against each other.
 */
import { createCipheriv, createHash, hkdfSync } from 'node:crypto'
import { argon2id } from '@noble/hashes/argon2.js'

const C = 65536

export function refHkdf(ikm: Buffer, info: string | Buffer, length = 32): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, Buffer.alloc(0), typeof info === 'string' ? Buffer.from(info) : info, length))
}

export function refFileKey(ikm: Buffer, index: number): Buffer {
  const i = Buffer.alloc(4)
  i.writeUInt32BE(index)
  return refHkdf(ikm, Buffer.concat([Buffer.from('sharesync/v1/file'), i]))
}

export function refPasswordIkm(secret: Buffer, password: string): { ikm: Buffer; access: string; salt: Buffer } {
  const salt = refHkdf(secret, 'sharesync/v1/password-salt', 16)
  const stretched = Buffer.from(argon2id(password.normalize('NFC'), salt, { t: 3, m: 65536, p: 4, dkLen: 64 }))
  return { ikm: Buffer.concat([secret, stretched.subarray(0, 32)]), access: stretched.subarray(32).toString('base64url'), salt }
}

export function refHeader(index: number): Buffer {
  const h = Buffer.alloc(16)
  h.write('SSE', 0, 'ascii')
  h[3] = 1
  h[4] = 16
  h.writeUInt32BE(index, 8)
  return h
}

export function refNonce(index: number, record: number, last: boolean): Buffer {
  const n = Buffer.alloc(12)
  n.writeUInt32BE(index, 0)
  // 7-byte big-endian record index: byte 4 is its high byte, zero for any index below 2^48.
  n.writeUIntBE(record, 5, 6)
  n[11] = last ? 1 : 0
  return n
}

/** The whole encrypted file, from the spec. */
export function refEncryptFile(ikm: Buffer, index: number, plain: Buffer): Buffer {
  const key = refFileKey(ikm, index)
  const header = refHeader(index)
  const out: Buffer[] = [header]
  const sizes: number[] = []
  let left = plain.length
  sizes.push(Math.min(left, C - 32))
  left -= sizes[0]!
  while (left > 0) {
    sizes.push(Math.min(left, C - 16))
    left -= sizes[sizes.length - 1]!
  }
  let at = 0
  sizes.forEach((size, r) => {
    const cipher = createCipheriv('aes-256-gcm', key, refNonce(index, r, r === sizes.length - 1))
    cipher.setAAD(header)
    out.push(cipher.update(plain.subarray(at, at + size)), cipher.final(), cipher.getAuthTag())
    at += size
  })
  return Buffer.concat(out)
}

export function refSealMetadata(ikm: Buffer, json: string, nonce: Buffer): string {
  const key = refHkdf(ikm, 'sharesync/v1/metadata')
  const prefix = Buffer.from([0x53, 0x53, 0x4d, 1])
  const body = Buffer.from(json)
  const padded = Buffer.alloc(Math.ceil(body.length / 256) * 256, 0x20)
  body.copy(padded)
  const cipher = createCipheriv('aes-256-gcm', key, nonce)
  cipher.setAAD(prefix)
  return Buffer.concat([prefix, nonce, cipher.update(padded), cipher.final(), cipher.getAuthTag()]).toString('base64url')
}

/** The test plaintext of the vectors: byte i is i mod 251. */
export function pattern(size: number): Buffer {
  const b = Buffer.alloc(size)
  for (let i = 0; i < size; i++) b[i] = i % 251
  return b
}

export const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')
