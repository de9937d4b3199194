import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto'

/**
 * HMAC-SHA256 signatures for the disk store's blob URLs. The key is derived from the session secret
 * with a fixed label, so a leaked blob signature says nothing about session cookies and vice versa.
 * Every field is part of the signed message (JSON array: no ambiguity between fields).
 */
export class UrlSigner {
  private readonly key: Buffer

  constructor(secret: string) {
    this.key = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'sharesync blob-url v1', 32))
  }

  sign(fields: readonly (string | number)[]): string {
    return createHmac('sha256', this.key).update(JSON.stringify(fields)).digest('base64url')
  }

  /** Constant-time: an attacker learns nothing from how long a wrong signature took to refuse. */
  verify(fields: readonly (string | number)[], signature: string): boolean {
    // Compare the text, not decoded bytes: base64url decoding ignores the last char's spare bits.
    const expected = Buffer.from(this.sign(fields))
    const given = Buffer.from(signature)
    return given.length === expected.length && timingSafeEqual(given, expected)
  }
}

/** `max`: the most bytes the part may hold (its exact size in the file), signed so it cannot be raised. */
export const partFields = (key: string, uploadId: string, partNumber: number, exp: number, max: number) => ['PUT', key, uploadId, partNumber, exp, max] as const
export const getFields = (key: string, exp: number, filename: string, contentType: string) => ['GET', key, exp, filename, contentType] as const
