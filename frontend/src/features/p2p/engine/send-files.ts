import { createSHA256 } from 'hash-wasm'

/**
 * The sender's loop for one transfer: raw ArrayBuffer chunks on a reliable ordered channel, paced by
 * bufferedAmount (high-water mark, resume on 'bufferedamountlow' with a timer fallback), a SHA-256
 * computed on the way, and a small text frame after each file's last chunk. No base64, no JSON around
 * binary, no per-chunk acks.
 */

export const HIGH_WATER_MARK = 4 * 1024 * 1024
export const LOW_WATER_MARK = 1024 * 1024
/** Disk reads are larger than chunks: fewer promises, and the next read overlaps the sending. */
const READ_BLOCK = 4 * 1024 * 1024

export interface OutgoingFile {
  id: string
  file: Blob
}

export interface SendHooks {
  /** bytes that have left the browser (sent minus still buffered) */
  progress(bytes: number): void
}

export class TransferAborted extends Error {
  constructor(message = 'transfer stopped') {
    super(message)
    this.name = 'TransferAborted'
  }
}

export function waitOpen(dc: RTCDataChannel, timeoutMs = 15_000): Promise<void> {
  if (dc.readyState === 'open') return Promise.resolve()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new TransferAborted('the data channel did not open')), timeoutMs)
    dc.addEventListener('open', () => {
      clearTimeout(timer)
      resolve()
    }, { once: true })
    dc.addEventListener('close', () => {
      clearTimeout(timer)
      reject(new TransferAborted('the data channel closed'))
    }, { once: true })
  })
}

export async function sendFiles(dc: RTCDataChannel, files: OutgoingFile[], chunkSize: number, hooks: SendHooks, signal: AbortSignal): Promise<void> {
  dc.binaryType = 'arraybuffer'
  dc.bufferedAmountLowThreshold = LOW_WATER_MARK
  await waitOpen(dc)
  let sent = 0
  const check = () => {
    if (signal.aborted) throw new TransferAborted()
    if (dc.readyState !== 'open') throw new TransferAborted('the connection closed')
  }
  const drain = async () => {
    while (dc.bufferedAmount > HIGH_WATER_MARK) {
      check()
      await new Promise<void>((resolve) => {
        // The event can be missed (the threshold crossed between checks): a short timer backs it up.
        const timer = setTimeout(resolve, 50)
        dc.onbufferedamountlow = () => {
          clearTimeout(timer)
          resolve()
        }
      })
    }
    hooks.progress(Math.max(0, sent - dc.bufferedAmount))
  }

  const hasher = await createSHA256()
  for (const { id, file } of files) {
    hasher.init()
    const read = (offset: number) => file.slice(offset, Math.min(file.size, offset + READ_BLOCK)).arrayBuffer()
    let next = file.size > 0 ? read(0) : null
    for (let offset = 0; offset < file.size; offset += READ_BLOCK) {
      const block = new Uint8Array(await next!)
      next = offset + READ_BLOCK < file.size ? read(offset + READ_BLOCK) : null
      hasher.update(block)
      for (let i = 0; i < block.byteLength; i += chunkSize) {
        check()
        if (dc.bufferedAmount > HIGH_WATER_MARK) await drain()
        dc.send(block.subarray(i, Math.min(block.byteLength, i + chunkSize)))
        sent += Math.min(chunkSize, block.byteLength - i)
      }
      hooks.progress(Math.max(0, sent - dc.bufferedAmount))
    }
    check()
    dc.send(JSON.stringify({ t: 'eof', fileId: id, sha256: hasher.digest('hex') }))
  }
  // Let the buffer empty so "sent" means "left this browser".
  while (dc.bufferedAmount > 0) {
    check()
    await new Promise((r) => setTimeout(r, 20))
    hooks.progress(Math.max(0, sent - dc.bufferedAmount))
  }
}
