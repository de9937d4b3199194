/** Messages between the page and the seal worker, which encrypts upload parts off the main thread. */
export interface SealRequest {
  id: number
  /** the share's input key material (ShareKey.ikm): the worker derives the file key itself */
  ikm: Uint8Array<ArrayBuffer>
  index: number
  file: File
  partSize: number
  partNumber: number
  /** write the sealed part into this scratch file of the origin's private storage instead of replying its records */
  stage?: { dir: string; name: string }
}

/**
 * The sealed part as its records' bytes (their buffers transferred, not copied), which the page
 * wraps in a Blob itself: a Blob made in the worker and posted would be held by a wrapper on the
 * page's heap until the page collects garbage, and with it its bytes in the browser process.
 */
export type SealReply = { id: number; records: Uint8Array<ArrayBuffer>[] } | { id: number; staged: true } | { id: number; message: string }
