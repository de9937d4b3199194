import {
  CreateLibraryLinkRequest,
  FileId,
  LibraryInfoQuery,
  LibraryListQuery,
  LibrarySearchQuery,
  SetLibraryAccessRequest,
  ShareId,
  UserId,
} from '@sharesync/protocol'
import { Router, type Request } from 'express'
import { z } from 'zod'
import { requireAdmin } from '../auth/session.middleware'
import { auditRepo } from '../db/audit.repo'
import { libraryRepo } from '../db/library.repo'
import { sharesRepo } from '../db/shares.repo'
import type { Deps } from '../deps'
import { AppError, shareNotFound } from '../http/app-error'
import { baseUrl } from '../http/base-url'
import { contentDisposition, safeContentType } from '../storage/blob-store'
import { byteRange } from '../storage/blob.routes'
import type { LibraryService } from './library.service'

const LibraryGetQuery = z.object({ exp: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER), sig: z.string().max(128) })

function ids(req: Request): { shareId: string; fileId: string } {
  const shareId = ShareId.safeParse(req.params.shareId)
  const fileId = FileId.safeParse(req.params.fileId)
  if (!shareId.success || !fileId.success) throw shareNotFound()
  return { shareId: shareId.data, fileId: fileId.data }
}

/**
 * The library (admins and allowed users):
 *   GET  /api/library/access            -> { enabled, allowed }
 *   GET  /api/library?path=             -> a folder's entries ('' lists the library folders)
 *   GET  /api/library/search?path=&q=   -> entries below path whose name contains q
 *   GET  /api/library/info?path=        -> one entry; a folder's total size and file count
 *   POST /api/library/links             -> { path, expiresIn?, maxDownloads?, password?, notify? } -> 201 link
 *   GET  /api/library/files/:shareId/:fileId?exp&sig  -> the bytes (signed URL from the share's download route)
 *   PATCH /api/admin/users/:id/library  -> { allowed } (admins)
 */
export function libraryRouter(deps: Pick<Deps, 'db' | 'config' | 'events' | 'logger' | 'monitor'>, library: LibraryService): Router {
  const r = Router()
  r.use('/api/library', (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store')
    next()
  })

  r.get('/api/library/access', async (req, res) => {
    res.json(await library.access(req.viewer))
  })

  r.get('/api/library', async (req, res) => {
    const { path } = LibraryListQuery.parse(req.query)
    res.json(await library.list(req.viewer, path))
  })

  r.get('/api/library/search', async (req, res) => {
    const { path, q } = LibrarySearchQuery.parse(req.query)
    res.json(await library.search(req.viewer, path, q))
  })

  r.get('/api/library/info', async (req, res) => {
    const { path } = LibraryInfoQuery.parse(req.query)
    res.json(await library.info(req.viewer, path))
  })

  r.post('/api/library/links', async (req, res) => {
    const body = CreateLibraryLinkRequest.parse(req.body ?? {})
    res.status(201).json(await library.createLink(req.viewer, body, baseUrl(deps.config, req)))
  })

  // The bytes, streamed by the app from the library, watched by the download monitor.
  r.get('/api/library/files/:shareId/:fileId', async (req, res) => {
    const { shareId, fileId } = ids(req)
    const { exp, sig } = LibraryGetQuery.parse(req.query)
    library.verifyGet(shareId, fileId, exp, sig)
    // The link may have been deleted or have expired since the URL was issued.
    const share = await sharesRepo.findActive(deps.db, shareId)
    if (!share || share.status !== 'ready' || share.expires_at.getTime() <= Date.now()) throw shareNotFound()
    const file = await sharesRepo.file(deps.db, shareId, fileId)
    if (!file) throw shareNotFound()
    const download = await library.openDownload(file)
    try {
      const range = byteRange(req, download.size)
      const { start, end } = range ?? { start: 0, end: download.size - 1 }
      res.setHeader('Content-Type', safeContentType(file.content_type))
      res.setHeader('Content-Disposition', contentDisposition(file.name))
      res.setHeader('X-Content-Type-Options', 'nosniff')
      res.setHeader('Content-Security-Policy', 'sandbox')
      res.setHeader('Cache-Control', 'private, no-store')
      res.setHeader('Accept-Ranges', 'bytes')
      if (range) {
        res.status(206)
        res.setHeader('Content-Range', `bytes ${start}-${end}/${download.size}`)
      }
      res.setHeader('Content-Length', String(Math.max(0, end - start + 1)))
      if (req.method === 'HEAD' || download.size === 0) {
        await download.close()
        res.end()
        return
      }
      await deps.monitor.send(req, res, download.open(start, end), {
        shareId,
        fileId,
        fileName: file.name,
        source: 'library',
        ownerUserId: share.owner_user_id,
        total: download.size,
        offset: start,
        length: end - start + 1,
      })
    } catch (err) {
      await download.close().catch(() => undefined)
      throw err
    }
  })

  r.patch('/api/admin/users/:id/library', async (req, res) => {
    const actor = requireAdmin(req)
    const id = UserId.parse(req.params.id)
    const { allowed } = SetLibraryAccessRequest.parse(req.body ?? {})
    const user = await libraryRepo.setAccess(deps.db, id, allowed)
    if (!user) throw new AppError('not_found', 'No such user.')
    const entry = await auditRepo.append(deps.db, {
      actorId: actor.id,
      actorEmail: actor.email,
      action: 'user.library',
      targetType: 'user',
      targetId: id,
      details: { email: user.email, allowed },
    })
    deps.events.emit('auditLogged', { entry })
    res.json({ id, allowed })
  })

  return r
}
