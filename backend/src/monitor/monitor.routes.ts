import { DownloadId, DownloadsQuery, type MonitoredDownload, type Page } from '@sharesync/protocol'
import { Router, type Request } from 'express'
import { requireAdmin, requireUser } from '../auth/session.middleware'
import { transfersRepo } from '../db/transfers.repo'
import type { Deps } from '../deps'
import { AppError } from '../http/app-error'

/** Ends a download wherever it runs (the realtime server reaches the other instances). */
export type StopDownload = (id: string) => Promise<boolean>

const notActive = () => new AppError('download_not_active', 'No such download is running (it may have just ended).')

function downloadId(req: Request): string {
  const parsed = DownloadId.safeParse(req.params.id)
  if (!parsed.success) throw notActive()
  return parsed.data
}

/**
 * The download monitor's routes:
 *   GET  /api/admin/downloads?status=active|finished|all&shareId=   every app-served download (admins)
 *   POST /api/admin/downloads/:id/stop                              ends it now (204) wherever it runs
 *   GET  /api/me/downloads?…                                        the same for the signed-in owner's shares
 *   POST /api/me/downloads/:id/stop                                 an owner stops a download of their share
 * Live progress comes over Socket.IO (`/admin`, `/account`): `downloads:progress`, `downloads:ended`.
 */
export function monitorRouter(deps: Pick<Deps, 'db' | 'monitor'>, stop: () => StopDownload): Router {
  const r = Router()
  const noStore = (res: { setHeader(k: string, v: string): unknown }) => res.setHeader('Cache-Control', 'no-store')

  /** Active rows get this instance's live figures (speed, fresh bytes) where it serves them. */
  const withLive = (page: { items: MonitoredDownload[]; total: number }, query: DownloadsQuery): Page<MonitoredDownload> => {
    const live = new Map(deps.monitor.active().map((d) => [d.id, d]))
    const items = page.items.map((d) => {
      const l = live.get(d.id)
      if (!l) return d
      const { ownerUserId: _owner, ...fresh } = l
      return fresh
    })
    return { items, total: page.total, limit: query.limit, offset: query.offset }
  }

  r.get('/api/admin/downloads', async (req, res) => {
    requireAdmin(req)
    const query = DownloadsQuery.parse(req.query)
    noStore(res)
    res.json(withLive(await transfersRepo.list(deps.db, query), query))
  })

  r.post('/api/admin/downloads/:id/stop', async (req, res) => {
    requireAdmin(req)
    if (!(await stop()(downloadId(req)))) throw notActive()
    res.status(204).end()
  })

  r.get('/api/me/downloads', async (req, res) => {
    const user = requireUser(req)
    const query = DownloadsQuery.parse(req.query)
    noStore(res)
    res.json(withLive(await transfersRepo.list(deps.db, query, user.id), query))
  })

  r.post('/api/me/downloads/:id/stop', async (req, res) => {
    const user = requireUser(req)
    const id = downloadId(req)
    // Someone else's download answers like an unknown one.
    const row = await transfersRepo.find(deps.db, id)
    if (!row || row.ownerUserId !== user.id || row.status !== 'active') throw notActive()
    if (!(await stop()(id))) throw notActive()
    res.status(204).end()
  })

  return r
}
