/** Messages between the page and the seal worker, which encrypts upload parts off the main thread. */
export interface SealRequest {
  id: number
  /** the share's input key material (ShareKey.ikm): the worker derives the file key itself */
  ikm: Uint8Array<ArrayBuffer>
  index: number
  file: File
  partSize: number
  partNumber: number
}

export type SealReply = { id: number; blob: Blob } | { id: number; message: string }
