import { argon2id } from 'hash-wasm'
import { base64url, concat, defaultPrimitives, fromBase64url, randomBytes, utf8, type AeadKey, type Bytes, type Primitives } from './primitives'

/**
 * Keys of one encrypted share (format version 1).
 *
 * The link secret S (16 random bytes) lives only in the link's fragment: `/s/<id>#<S>` (base64url),
 * or `/s/<id>#<S>.p` when a password is also needed. Browsers never send the fragment to a server.
 *
 *   no password:   IKM = S
 *   password:      salt    = HKDF(S, "sharesync/v1/password-salt", 16)
 *                  stretch = Argon2id(NFC(password), salt, t=3, m=64 MiB, p=4, 64 bytes)
 *                  IKM     = S ‖ stretch[0..32)
 *                  access  = base64url(stretch[32..64))   — sent to the server as the share's password
 *   metadata key = HKDF(IKM, "sharesync/v1/metadata", 32)
 *   file key i   = HKDF(IKM, "sharesync/v1/file" ‖ u32be(i), 32)
 *
 * HKDF is HKDF-SHA256 with an empty salt. The access token lets the server refuse downloads (and keep
 * one-time links intact) without the password, while the server never learns anything that opens the
 * files: it lacks S, and the half of the stretched password that goes into the key.
 */

export const SECRET_SIZE = 16
export const ARGON2 = { iterations: 3, memorySize: 65536, parallelism: 4, hashLength: 64 } as const
const PASSWORD_SUFFIX = '.p'

const INFO = {
  passwordSalt: utf8('sharesync/v1/password-salt'),
  metadata: utf8('sharesync/v1/metadata'),
  file: utf8('sharesync/v1/file'),
}

/** The fragment of a link (without '#'), and what it says. */
export interface KeyToken {
  secret: Bytes
  password: boolean
}

export function newSecret(): Bytes {
  return randomBytes(SECRET_SIZE)
}

export function formatKeyToken(secret: Uint8Array, password: boolean): string {
  if (secret.length !== SECRET_SIZE) throw new RangeError('a link secret is 16 bytes')
  return base64url(secret) + (password ? PASSWORD_SUFFIX : '')
}

/** Reads `#<S>` or `#<S>.p` (the leading '#' is optional); null for anything else. */
export function parseKeyToken(fragment: string): KeyToken | null {
  const text = fragment.startsWith('#') ? fragment.slice(1) : fragment
  const password = text.endsWith(PASSWORD_SUFFIX)
  const secret = fromBase64url(password ? text.slice(0, -PASSWORD_SUFFIX.length) : text)
  return secret && secret.length === SECRET_SIZE ? { secret, password } : null
}

export interface FileKey {
  index: number
  aead: AeadKey
}

/** The keys of one share, derived from its IKM. Keeping the IKM is enough to resume an upload. */
export class ShareKey {
  private readonly files = new Map<number, Promise<FileKey>>()
  private metadata: Promise<AeadKey> | null = null

  private constructor(
    readonly ikm: Bytes,
    /** The share password the server checks (password-protected keys only). */
    readonly accessToken: string | null,
    readonly primitives: Primitives,
  ) {}

  /** From the link secret, and the password when the link needs one. */
  static async derive(secret: Uint8Array, password: string | null, primitives: Primitives = defaultPrimitives()): Promise<ShareKey> {
    if (secret.length !== SECRET_SIZE) throw new RangeError('a link secret is 16 bytes')
    if (password === null) return new ShareKey(new Uint8Array(secret), null, primitives)
    const normalized = password.normalize('NFC')
    if (normalized.length === 0) throw new RangeError('the password is empty')
    const salt = await primitives.hkdf(secret, INFO.passwordSalt, 16)
    const stretched = await argon2id({ password: utf8(normalized), salt, ...ARGON2, outputType: 'binary' })
    return new ShareKey(concat(secret, stretched.subarray(0, 32)), base64url(stretched.subarray(32, 64)), primitives)
  }

  /** Back from a stored IKM (a pending upload after a reload). */
  static fromIkm(ikm: Uint8Array, accessToken: string | null, primitives: Primitives = defaultPrimitives()): ShareKey {
    if (ikm.length !== SECRET_SIZE && ikm.length !== SECRET_SIZE + 32) throw new RangeError('not a share key')
    return new ShareKey(new Uint8Array(ikm), accessToken, primitives)
  }

  metadataKey(): Promise<AeadKey> {
    this.metadata ??= this.primitives.hkdf(this.ikm, INFO.metadata, 32).then((raw) => this.primitives.aesGcm(raw))
    return this.metadata
  }

  fileKey(index: number): Promise<FileKey> {
    if (!Number.isInteger(index) || index < 0 || index > 0xffffffff) throw new RangeError(`not a file index: ${index}`)
    let key = this.files.get(index)
    if (!key) {
      const info = concat(INFO.file, u32be(index))
      key = this.primitives.hkdf(this.ikm, info, 32).then(async (raw) => ({ index, aead: await this.primitives.aesGcm(raw) }))
      this.files.set(index, key)
    }
    return key
  }
}

function u32be(n: number): Bytes {
  const b = new Uint8Array(4)
  new DataView(b.buffer).setUint32(0, n)
  return b
}
