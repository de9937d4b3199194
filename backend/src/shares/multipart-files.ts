import type { IncomingMessage } from 'node:http'
import busboy from 'busboy'
import { MAX_FILES_PER_SHARE, MAX_FILE_NAME_LENGTH } from '@sharesync/protocol'
import { AppError } from '../http/app-error'
import type { StreamedFile } from './stream-upload.service'

export interface MultipartUpload {
  /** Resolves once the first file starts (or the body ends): the fields sent before it. */
  early: Promise<{ fields: Record<string, string>; first: StreamedFile | null }>
  /** The remaining files, in order. Each must be consumed before the next one arrives. */
  rest: AsyncIterable<StreamedFile>
  /** Fields sent after the first file started (curl -F sends fields in the order given). */
  lateFields: Record<string, string>
}

/**
 * Streams a multipart/form-data body (busboy): files named `file` are yielded one by one as
 * streams, never buffered. A client that disconnects mid-file fails the file's stream, so a
 * truncated file is never stored as if complete.
 */
export function multipartFiles(req: IncomingMessage): MultipartUpload {
  let bb: busboy.Busboy
  try {
    bb = busboy({ headers: req.headers, limits: { files: MAX_FILES_PER_SHARE, fields: 20, fieldSize: 4096, parts: MAX_FILES_PER_SHARE + 20 } })
  } catch {
    throw new AppError('unsupported_media_type', 'Send multipart/form-data with a field named "file".')
  }
  const fields: Record<string, string> = {}
  const lateFields: Record<string, string> = {}
  const queue: (StreamedFile | Error | null)[] = []
  let wake: (() => void) | null = null
  let seenFile = false
  let current: NodeJS.ReadableStream & { destroy(err?: Error): void } | null = null
  const push = (item: StreamedFile | Error | null) => {
    queue.push(item)
    wake?.()
    wake = null
  }

  bb.on('field', (name, value) => {
    if (seenFile) lateFields[name] = value
    else fields[name] = value
  })
  bb.on('file', (name, stream, info) => {
    if (name !== 'file') {
      stream.resume()
      return
    }
    seenFile = true
    current = stream
    const filename = (info.filename || 'upload').slice(0, MAX_FILE_NAME_LENGTH)
    push({ name: filename, contentType: info.mimeType || 'application/octet-stream', body: stream })
  })
  bb.on('close', () => push(null))
  bb.on('error', (err: Error) => {
    current?.destroy(err)
    push(new AppError('invalid_input', `The multipart body could not be read: ${err.message}.`))
  })
  req.on('close', () => {
    if (!req.complete) {
      const err = new Error('the client disconnected during the upload')
      current?.destroy(err)
      push(err)
    }
  })
  req.pipe(bb)

  async function next(): Promise<StreamedFile | null> {
    while (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve))
    const item = queue.shift()!
    if (item instanceof Error) throw item
    return item
  }

  return {
    early: next().then((first) => ({ fields: { ...fields }, first })),
    lateFields,
    rest: {
      async *[Symbol.asyncIterator]() {
        for (;;) {
          const item = await next()
          if (item === null) return
          yield item
        }
      },
    },
  }
}
