import { Transform, pipeline, type Readable } from 'node:stream'
import { collectYoungGeneration } from '../memory/young-generation'

/**
 * A minor collection after every 8 MiB of streamed buffers let go.
 *
 * A chunk's bytes live outside V8's heap (`arrayBuffers` in `process.memoryUsage()`), but they are
 * freed only when a scavenge finds their small `Buffer` wrapper dead. V8 schedules scavenges by how
 * full the young generation is, not by how much outside memory its dead wrappers hold, so a file
 * streamed at disk speed piles up tens of MiB of finished chunks between two scavenges (29–55 MiB
 * held at once for 128 MiB streamed, measured by released-buffers.test.ts without the pacing; 8–14
 * with it). A scavenge of a young generation that holds little else costs tens of microseconds:
 * one per 8 MiB is ~128 per GiB.
 */
export const COLLECT_EVERY_BYTES = 8 * 2 ** 20

let released = 0

/** Counts bytes whose buffers the caller no longer holds; collects once enough have piled up. */
export function buffersReleased(bytes: number): void {
  released += bytes
  if (released < COLLECT_EVERY_BYTES) return
  released = 0
  collectYoungGeneration()
}

/**
 * The same bytes, each chunk counted as released once the next stage has taken it. Destroying the
 * returned stream destroys the source (its file handle is closed).
 */
export function releasing(source: Readable, highWaterMark = source.readableHighWaterMark): Readable {
  const counter = new Transform({
    highWaterMark,
    transform(chunk: Buffer, _encoding, callback) {
      callback(null, chunk)
      buffersReleased(chunk.byteLength)
    },
  })
  return pipeline(source, counter, () => undefined)
}
