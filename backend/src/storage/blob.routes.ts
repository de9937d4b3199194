import { pipeline } from 'node:stream/promises'
import { BlobGetQuery, BlobKey, BlobPartParams, BlobPartQuery } from '@sharesync/protocol'
import { Router, type Request, type Response } from 'express'
import type { Deps } from '../deps'
import { AppError } from '../http/app-error'
import { contentDisposition, safeContentType } from './blob-store'
import { transfersRepo } from '../db/transfers.repo'
import { DiskStore, fileBytes } from './disk-store'

/**
 * The disk store's signed URLs, the counterpart of S3 presigned URLs: the browser PUTs parts to
 * `/api/blobs/parts/...` and downloads from `/api/blobs/o/...`. The signature is the only credential.
 * With the S3 store the browser talks to S3 directly and this router is empty.
 */
export function blobRouter(deps: Pick<Deps, 'store'> & Partial<Pick<Deps, 'db' | 'monitor'>>): Router {
  const router = Router()
  const { store } = deps
  if (!(store instanceof DiskStore)) return router

  // PUT a part: streamed to a part file, answered with its ETag (exposed to browsers like S3 does).
  router.put('/api/blobs/parts/:uploadId/:partNumber', async (req, res) => {
    const { uploadId, partNumber } = BlobPartParams.parse(req.params)
    const { key, exp, max, sig } = BlobPartQuery.parse(req.query)
    store.verifyPartUrl(key, uploadId, partNumber, exp, max, sig)
    if (req.body !== undefined) {
      // A body parser already consumed the stream (a JSON content type): the bytes are gone.
      throw new AppError('unsupported_media_type', 'Send parts as application/octet-stream.')
    }
    const part = await store.writePart(key, uploadId, partNumber, req, { declaredBytes: declaredLength(req), maxBytes: max })
    res.setHeader('ETag', part.etag)
    res.setHeader('Access-Control-Expose-Headers', 'ETag')
    res.setHeader('Cache-Control', 'no-store')
    res.status(200).end()
  })

  // GET (and HEAD) an object, always as an attachment that cannot render or run on this origin.
  router.get('/api/blobs/o/*key', async (req, res) => {
    const key = BlobKey.parse(wildcard(req.params.key))
    const { exp, fn, ct, sig } = BlobGetQuery.parse(req.query)
    store.verifyGetUrl(key, exp, fn, ct, sig)
    const object = await store.openObject(key)
    if (!object) throw new AppError('not_found', 'No such file.')
    const { handle, size } = object
    try {
      res.setHeader('Content-Type', safeContentType(ct))
      res.setHeader('Content-Disposition', contentDisposition(fn))
      res.setHeader('X-Content-Type-Options', 'nosniff')
      res.setHeader('Content-Security-Policy', 'sandbox')
      res.setHeader('Cache-Control', 'private, no-store')
      res.setHeader('Accept-Ranges', 'bytes')
      const range = byteRange(req, size)
      const { start, end } = range ?? { start: 0, end: size - 1 }
      if (range) {
        res.status(206)
        res.setHeader('Content-Range', `bytes ${start}-${end}/${size}`)
      }
      res.setHeader('Content-Length', String(Math.max(0, end - start + 1)))
      if (req.method === 'HEAD' || size === 0) {
        await handle.close()
        res.end()
        return
      }
      // Every download the app serves is watched (progress, stalls, Stop): the file's share is looked up by its key.
      const file = deps.db && deps.monitor ? await transfersRepo.fileByStorageKey(deps.db, key) : null
      const body = fileBytes(handle, { start, end })
      if (!file || !deps.monitor) return await sendFile(res, body)
      await deps.monitor.send(req, res, body, { shareId: file.shareId, fileId: file.fileId, ownerUserId: file.ownerUserId, fileName: file.name, source: 'disk', total: size, offset: start, length: end - start + 1 })
    } catch (err) {
      await handle.close().catch(() => undefined)
      throw err
    }
  })
  return router
}

/** Express 5 gives a `*name` wildcard as its path segments. */
function wildcard(value: unknown): unknown {
  return Array.isArray(value) ? value.join('/') : value
}

function declaredLength(req: Request): number | undefined {
  const header = req.get('content-length')
  return header !== undefined && /^\d+$/.test(header) ? Number(header) : undefined
}

/** One `bytes=` range, or null for the whole object (no, malformed or multiple ranges). */
export function byteRange(req: Request, size: number): { start: number; end: number } | null {
  if (req.get('range') === undefined) return null
  const ranges = req.range(size, { combine: true })
  if (ranges === -1) {
    throw new AppError('range_not_satisfiable', 'The requested range is outside the file.', { headers: { 'Content-Range': `bytes */${size}` } })
  }
  if (ranges === undefined || ranges === -2 || ranges.type !== 'bytes' || ranges.length !== 1) return null
  const [range] = ranges
  return range ? { start: range.start, end: range.end } : null
}

/** A client that goes away mid-download is not an error worth a 500 in the logs. */
async function sendFile(res: Response, body: NodeJS.ReadableStream): Promise<void> {
  try {
    await pipeline(body, res)
  } catch (err) {
    if (!res.headersSent) throw err
    res.destroy()
  }
}
