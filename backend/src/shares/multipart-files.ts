import type { IncomingMessage } from 'node:http'
import busboy from 'busboy'
import { MAX_FILES_PER_SHARE, MAX_FILE_NAME_LENGTH } from '@sharesync/protocol'
import { AppError } from '../http/app-error'
import type { StreamedFile } from './stream-upload.service'

const MAX_FIELDS = 20
const MAX_FIELD_BYTES = 4096

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
    bb = busboy({ headers: req.headers, limits: { files: MAX_FILES_PER_SHARE, fields: MAX_FIELDS, fieldSize: MAX_FIELD_BYTES, fieldNameSize: 100, parts: MAX_FILES_PER_SHARE + MAX_FIELDS } })
  } catch {
    throw new AppError('unsupported_media_type', 'Send multipart/form-data with a field named "file".')
  }
  const fields: Record<string, string> = {}
  const lateFields: Record<string, string> = {}
  const queue: (StreamedFile | null)[] = []
  let wake: (() => void) | null = null
  let seenFile = false
  /** The file stream the consumer is reading now (handed out by next()). */
  let consuming: StreamedFile['body'] | null = null
  let failure: Error | null = null
  const push = (item: StreamedFile | null) => {
    queue.push(item)
    wake?.()
    wake = null
  }
  /**
   * The first failure wins and ends the upload: the file being read fails with it (so storage stops
   * and removes it), files not read yet are dropped, and the rest of the body is not parsed.
   */
  const fail = (err: Error) => {
    if (failure) return
    failure = err
    if (consuming && !consuming.readableEnded) consuming.destroy(err)
    for (const item of queue.splice(0)) item?.body.resume()
    req.unpipe(bb)
    wake?.()
    wake = null
  }

  // Over a limit, busboy would silently drop the rest: the whole upload fails instead.
  const overLimit = (what: string) => () => fail(new AppError('too_large', `A form may carry at most ${what}; nothing was kept.`))
  bb.on('filesLimit', overLimit(`${MAX_FILES_PER_SHARE} files`))
  bb.on('fieldsLimit', overLimit(`${MAX_FIELDS} fields`))
  bb.on('partsLimit', overLimit(`${MAX_FILES_PER_SHARE + MAX_FIELDS} parts`))
  bb.on('field', (name, value, info) => {
    if (info.nameTruncated || info.valueTruncated) return fail(new AppError('too_large', `Form fields may be at most ${MAX_FIELD_BYTES} bytes; nothing was kept.`))
    if (seenFile) lateFields[name] = value
    else fields[name] = value
  })
  bb.on('file', (name, stream, info) => {
    if (failure) return stream.resume()
    if (name !== 'file') {
      stream.resume()
      return fail(new AppError('invalid_input', `Files go in fields named "file" (curl -F file=@name), not "${name.slice(0, 64)}"; nothing was kept.`))
    }
    seenFile = true
    // A failure reaches the consumer through next() and the destroyed stream; never as an 'error'
    // event nobody listens to yet (that would end the process).
    stream.on('error', () => undefined)
    const filename = (info.filename || 'upload').slice(0, MAX_FILE_NAME_LENGTH)
    push({ name: filename, contentType: info.mimeType || 'application/octet-stream', body: stream })
  })
  bb.on('close', () => push(null))
  bb.on('error', (err: Error) => fail(new AppError('invalid_input', `The multipart body could not be read: ${err.message}.`)))
  req.on('close', () => {
    if (!req.complete) fail(new Error('the client disconnected during the upload'))
  })
  req.pipe(bb)

  async function next(): Promise<StreamedFile | null> {
    while (queue.length === 0 && !failure) await new Promise<void>((resolve) => (wake = resolve))
    if (failure) throw failure
    const item = queue.shift()!
    consuming = item?.body ?? null
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
