import { Readable } from 'node:stream'
import type { ReadableStream as WebReadableStream } from 'node:stream/web'
import { makeZip, predictLength } from 'client-zip'

/**
 * Streamed zip archives (client-zip: no compression, ZIP64 when sizes need it, data descriptors, the
 * same library the web app can run in the browser). Nothing is buffered: each entry's bytes are
 * read when the archive reaches it. The archive is a pure function of the entries' names, dates,
 * sizes and bytes, so its length is known before the first byte and a byte range of it can be
 * served by generating it again and skipping (`zipRange`).
 */

export interface ZipFileEntry {
  /** path inside the archive, `/`-separated (`photos/2024/a.jpg`) */
  name: string
  size: number
  lastModified: Date
  /** opens the entry's bytes when the archive reaches it; they must be exactly `size` bytes */
  open: () => Promise<AsyncIterable<Uint8Array>> | AsyncIterable<Uint8Array>
}

export interface ZipFolderEntry {
  /** folder path inside the archive, without a trailing slash */
  name: string
  lastModified: Date
  folder: true
}

export type ZipEntry = ZipFileEntry | ZipFolderEntry

const isFolder = (e: ZipEntry): e is ZipFolderEntry => 'folder' in e

/**
 * A name as it may appear in an archive: relative, `/`-separated, no `.`/`..`/empty segments, no
 * drive letters or backslashes (a "zip slip" archive could otherwise write outside the folder it is
 * extracted to). Throws for names that cannot be made safe.
 */
export function safeEntryName(name: string): string {
  const parts = name.split('/').filter((p) => p !== '')
  if (
    parts.length === 0 ||
    parts.some((p) => p === '.' || p === '..' || p.includes('\\') || /[\u0000-\u001f]/.test(p)) ||
    /^[a-zA-Z]:/.test(parts[0]!)
  ) {
    throw new Error(`unsafe zip entry name: ${JSON.stringify(name)}`)
  }
  return parts.join('/')
}

function metadata(entries: readonly ZipEntry[]) {
  return entries.map((e) => (isFolder(e) ? { name: `${safeEntryName(e.name)}/` } : { name: safeEntryName(e.name), size: e.size }))
}

/** The exact byte length of the archive `zipStream(entries)` produces. */
export function zipLength(entries: readonly ZipEntry[]): number {
  return Number(predictLength(metadata(entries)))
}

/** The whole archive as a Node stream. Entries are opened one at a time, in order. */
export function zipStream(entries: readonly ZipEntry[]): Readable {
  async function* inputs() {
    for (const e of entries) {
      if (isFolder(e)) yield { name: `${safeEntryName(e.name)}/`, lastModified: e.lastModified }
      else yield { name: safeEntryName(e.name), lastModified: e.lastModified, size: e.size, input: await e.open() }
    }
  }
  const web = makeZip(inputs(), { buffersAreUTF8: true }) as unknown as WebReadableStream<Uint8Array>
  return Readable.fromWeb(web)
}

/**
 * Bytes `start`..`end` (inclusive) of the archive: it is generated again and the bytes before
 * `start` are dropped (entries wholly before the range are still read: the archive's CRCs need them).
 */
export function zipRange(entries: readonly ZipEntry[], start: number, end: number): Readable {
  const whole = zipStream(entries)
  let position = 0
  async function* slice() {
    try {
      for await (const chunk of whole as AsyncIterable<Uint8Array>) {
        const from = position
        position += chunk.length
        if (position <= start) continue
        if (from > end) break
        yield chunk.subarray(Math.max(0, start - from), Math.min(chunk.length, end - from + 1))
        if (position > end) break
      }
    } finally {
      whole.destroy()
    }
  }
  return Readable.from(slice(), { objectMode: false })
}
