import {
  AdminSettings,
  AdminSharesQuery,
  AdminUsersQuery,
  AuditQuery,
  SetDisabledRequest,
  SetRoleRequest,
  ShareId,
  StatsQuery,
  UserId,
} from '@sharesync/protocol'
import { Router, type Request } from 'express'
import { requireAdmin, requireAdminMw } from '../auth/session.middleware'
import type { Deps } from '../deps'
import { AppError } from '../http/app-error'
import { AdminService, noLive, type LiveSource } from './admin.service'

/** Every admin route, for the guard test and the docs. */
export const ADMIN_ROUTES = [
  ['GET', '/api/admin/stats'],
  ['GET', '/api/admin/live'],
  ['GET', '/api/admin/shares'],
  ['DELETE', '/api/admin/shares/:id'],
  ['GET', '/api/admin/users'],
  ['PATCH', '/api/admin/users/:id/role'],
  ['PATCH', '/api/admin/users/:id/disabled'],
  ['GET', '/api/admin/settings'],
  ['PUT', '/api/admin/settings'],
  ['GET', '/api/admin/audit'],
] as const

const userId = (req: Request) => UserId.parse(req.params.id)
function shareId(req: Request): string {
  const parsed = ShareId.safeParse(req.params.id)
  if (!parsed.success) throw new AppError('not_found', 'No such share, or it is already deleted.')
  return parsed.data
}

/**
 * `/api/admin/*`: admin only (the auth gate in session.middleware checks every /api/admin path,
 * and this router checks again, so a route added here is never open by accident).
 */
export function adminRouter(deps: Deps, live: LiveSource = noLive, service = new AdminService(deps, live)): Router {
  const r = Router()
  r.use('/api/admin', requireAdminMw, (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store')
    next()
  })

  r.get('/api/admin/stats', async (req, res) => {
    res.json(await service.stats(StatsQuery.parse(req.query)))
  })

  r.get('/api/admin/live', async (_req, res) => {
    res.json(await service.liveFigures())
  })

  r.get('/api/admin/shares', async (req, res) => {
    res.json(await service.listShares(AdminSharesQuery.parse(req.query)))
  })

  r.delete('/api/admin/shares/:id', async (req, res) => {
    await service.deleteShare(requireAdmin(req), shareId(req))
    res.status(204).end()
  })

  r.get('/api/admin/users', async (req, res) => {
    res.json(await service.listUsers(AdminUsersQuery.parse(req.query)))
  })

  // Also defined by the auth router; mounted before it, this one adds the audit entry.
  r.patch('/api/admin/users/:id/role', async (req, res) => {
    const actor = requireAdmin(req)
    const { role } = SetRoleRequest.parse(req.body)
    res.json(await service.setRole(actor, userId(req), role))
  })

  r.patch('/api/admin/users/:id/disabled', async (req, res) => {
    const actor = requireAdmin(req)
    const { disabled } = SetDisabledRequest.parse(req.body)
    res.json(await service.setDisabled(actor, userId(req), disabled))
  })

  r.get('/api/admin/settings', async (_req, res) => {
    res.json(await service.settings())
  })

  r.put('/api/admin/settings', async (req, res) => {
    const actor = requireAdmin(req)
    res.json(await service.saveSettings(actor, AdminSettings.parse(req.body)))
  })

  r.get('/api/admin/audit', async (req, res) => {
    res.json(await service.auditLog(AuditQuery.parse(req.query)))
  })

  return r
}
