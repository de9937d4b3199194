import { DeliveriesQuery, NotificationChannelsRequest, SetShareNotifyRequest, ShareId } from '@sharesync/protocol'
import { Router, type Request } from 'express'
import { requireAdmin, requireUser } from '../auth/session.middleware'
import { notifyRepo } from '../db/notify.repo'
import type { Deps } from '../deps'
import { shareNotFound } from '../http/app-error'
import type { NotificationsService } from './notifications.service'

function shareId(req: Request): string {
  const parsed = ShareId.safeParse(req.params.id)
  if (!parsed.success) throw shareNotFound()
  return parsed.data
}

/**
 * Notifications:
 *   GET/PUT /api/me/notifications        where the signed-in user's notices go (e-mail, webhook + its secret)
 *   GET/PUT /api/me/shares/:id/notify    what one of their shares reports { downloads, expired }
 *   GET     /api/admin/notifications     the delivery log (admins)
 */
export function notificationsRouter(deps: Pick<Deps, 'db'>, service: NotificationsService): Router {
  const r = Router()
  r.use(['/api/me/notifications', '/api/admin/notifications'], (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store')
    next()
  })

  r.get('/api/me/notifications', async (req, res) => {
    res.json(await service.channels(requireUser(req)))
  })

  r.put('/api/me/notifications', async (req, res) => {
    const user = requireUser(req)
    res.json(await service.saveChannels(user, NotificationChannelsRequest.parse(req.body ?? {})))
  })

  r.get('/api/me/shares/:id/notify', async (req, res) => {
    res.json(await service.shareNotify(requireUser(req), shareId(req)))
  })

  r.put('/api/me/shares/:id/notify', async (req, res) => {
    const user = requireUser(req)
    const id = shareId(req)
    res.json(await service.setShareNotify(user, id, SetShareNotifyRequest.parse(req.body ?? {})))
  })

  r.get('/api/admin/notifications', async (req, res) => {
    requireAdmin(req)
    const query = DeliveriesQuery.parse(req.query)
    res.json({ ...(await notifyRepo.list(deps.db, query)), limit: query.limit, offset: query.offset })
  })

  return r
}
