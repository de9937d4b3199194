/// <reference lib="webworker" />
import { ShareKey } from '@sharesync/crypto'
import { scratchDir } from './scratch-files'
import { sealPartRecords } from './seal-part'
import type { SealReply, SealRequest } from './seal-protocol'

/**
 * The seal worker: reads and encrypts upload parts off the page's main thread, and hands each part's
 * records to the page (their buffers transferred), which wraps them in a Blob and sends it. Parts
 * are sealed concurrently (each request is answered on its own), with the same bytes as on the main
 * thread: same key, same part, same records.
 */

const ctx = self as unknown as DedicatedWorkerGlobalScope
/** Share keys by their IKM (hex): HKDF runs once per file, not once per part. */
const keys = new Map<string, ShareKey>()

ctx.onmessage = (e: MessageEvent<SealRequest>) => {
  const { id, ikm, index, file, partSize, partNumber, stage } = e.data
  const reply = (msg: SealReply) => ctx.postMessage(msg)
  const hex = Array.from(ikm, (b) => b.toString(16).padStart(2, '0')).join('')
  let key = keys.get(hex)
  if (!key) {
    key = ShareKey.fromIkm(ikm, null)
    keys.set(hex, key)
  }
  void key
    .fileKey(index)
    .then((fileKey) => sealPartRecords(fileKey, file, partSize, partNumber))
    .then(async (records) => {
      if (stage && (await staged(stage, records))) return reply({ id, staged: true })
      ctx.postMessage({ id, records } satisfies SealReply, transferList(records))
    })
    .then(
      () => undefined,
      (err: unknown) => reply({ id, message: err instanceof Error ? err.message : String(err) }),
    )
}

/**
 * Writes the records into a scratch file of the origin's private storage (a sync access handle:
 * written in place, no swap copy). False when it cannot (no such storage, quota): the page then
 * gets the records.
 */
async function staged(stage: { dir: string; name: string }, records: Uint8Array<ArrayBuffer>[]): Promise<boolean> {
  try {
    const dir = await scratchDir(stage.dir)
    const handle = await (await dir.getFileHandle(stage.name, { create: true })).createSyncAccessHandle()
    try {
      handle.truncate(0)
      let at = 0
      for (const r of records) at += handle.write(r, { at })
      handle.flush()
    } finally {
      handle.close()
    }
    return true
  } catch {
    return false
  }
}

/** Each record's buffer once (a record may be a view into a buffer another one shares). */
function transferList(records: Uint8Array<ArrayBuffer>[]): ArrayBuffer[] {
  return [...new Set(records.map((r) => r.buffer))]
}
