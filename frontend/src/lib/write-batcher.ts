/** The size of one gathered write: each write to a writable stream or a port is a round trip to another process. */
export const WRITE_BATCH = 4 * 1024 * 1024

/**
 * Gathers small chunks into ~4 MiB writes. `push` resolves once the chunk is held (or, when it filled
 * a batch, once that batch was written); `flush` writes what is held; `drop` forgets it.
 */
export function writeBatcher(writeBatch: (batch: Uint8Array<ArrayBuffer>) => Promise<void>) {
  let parts: Uint8Array[] = []
  let pending = 0
  const flush = async () => {
    if (pending === 0) return
    const out = new Uint8Array(pending)
    let at = 0
    for (const p of parts) {
      out.set(p, at)
      at += p.byteLength
    }
    parts = []
    pending = 0
    await writeBatch(out)
  }
  return {
    async push(chunk: Uint8Array) {
      parts.push(chunk)
      pending += chunk.byteLength
      if (pending >= WRITE_BATCH) await flush()
    },
    flush,
    drop() {
      parts = []
      pending = 0
    },
  }
}
