/// <reference lib="webworker" />
import { ShareKey } from '@sharesync/crypto'
import { sealPartBlob } from './seal-part'
import type { SealReply, SealRequest } from './seal-protocol'

/**
 * The seal worker: reads, encrypts and wraps upload parts in Blobs off the page's main thread, which
 * then only sends them. Parts are sealed concurrently (each request is answered on its own), with
 * the same bytes as on the main thread: same key, same part, same records.
 */

const ctx = self as unknown as DedicatedWorkerGlobalScope
/** Share keys by their IKM (hex): HKDF runs once per file, not once per part. */
const keys = new Map<string, ShareKey>()

ctx.onmessage = (e: MessageEvent<SealRequest>) => {
  const { id, ikm, index, file, partSize, partNumber } = e.data
  const reply = (msg: SealReply) => ctx.postMessage(msg)
  const hex = Array.from(ikm, (b) => b.toString(16).padStart(2, '0')).join('')
  let key = keys.get(hex)
  if (!key) {
    key = ShareKey.fromIkm(ikm, null)
    keys.set(hex, key)
  }
  void key
    .fileKey(index)
    .then((fileKey) => sealPartBlob(fileKey, file, partSize, partNumber))
    .then(
      (blob) => reply({ id, blob }),
      (err: unknown) => reply({ id, message: err instanceof Error ? err.message : String(err) }),
    )
}
