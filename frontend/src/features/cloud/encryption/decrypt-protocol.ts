import type { DecryptFailure } from '@sharesync/crypto'

/**
 * Messages between the recipient's page and the decrypting download service worker (decrypt-sw.ts).
 *
 * The page posts one `DecryptRequest` per file, with a MessagePort; the worker answers 'registered',
 * and the page opens `e2e-dl/<id>/download` in a hidden iframe. The worker then fetches the
 * ciphertext itself, decrypts it record by record into the download's response and tells the page,
 * on the port, how far it got (counts, never bytes) and how it ended. The page only keeps the worker
 * alive meanwhile (`DecryptKeepAlive`, posted to the worker itself: a port's messages do not count).
 */
export interface DecryptRequest {
  type: 'e2e-download'
  /** names the download's URL; no file name (the worker names the file) */
  id: string
  /** the signed download URL of the ciphertext (issued under the page's lease) */
  url: string
  /** the share's input key material (ShareKey.ikm): the worker derives the file key itself */
  ikm: Uint8Array<ArrayBuffer>
  /** the file's position in the share */
  index: number
  encryptedSize: number
  name: string
  /** plaintext size: the download's Content-Length */
  size: number
  mime: string
}

export interface DecryptKeepAlive {
  type: 'e2e-keepalive'
}

export type DecryptReply =
  | { type: 'registered' }
  /** the browser asked for the download: the worker is fetching the ciphertext */
  | { type: 'started' }
  | { type: 'progress'; done: number }
  /** the last record verified and the download's stream ended */
  | { type: 'done'; done: number }
  | { type: 'failed'; reason: DecryptFailureReason }

export type DecryptFailureReason =
  /** a record did not verify, or the file is cut short, too long, foreign: `failure` says which */
  | { kind: 'tampered'; failure: DecryptFailure }
  /** the server answered with an error status */
  | { kind: 'server'; status: number }
  /** the ciphertext's fetch failed or broke off */
  | { kind: 'network'; message: string }
  /** the person cancelled the download in the browser */
  | { kind: 'cancelled' }

export const DOWNLOAD_ID = /^[A-Za-z0-9_-]{1,80}$/
