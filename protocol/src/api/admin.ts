import { z } from 'zod'
import {
  AdminSettings,
  AdminShare,
  AdminSharesQuery,
  AdminUser,
  AdminUsersQuery,
  AuditEntry,
  AuditQuery,
  LiveFigures,
  pageOf,
  SetDisabledRequest,
  SettingsResponse,
  StatsQuery,
  StatsResponse,
} from '../admin'
import { Me, SetRoleRequest, UserId } from '../auth'
import { LibraryAccessChanged, SetLibraryAccessRequest } from '../library'
import { DownloadId, DownloadsQuery, MonitoredDownload } from '../monitor'
import { DeliveriesQuery, NotificationDelivery } from '../notifications'
import { ShareId } from '../shares'
import { routes } from './route'

const user = z.object({ id: UserId })
const denied = ['unauthorized', 'forbidden'] as const

/** The admin dashboard's routes (administrators only). */
export const adminRoutes = routes([
  { method: 'get', path: '/api/admin/stats', tag: 'Admin', auth: 'admin', summary: 'Totals and per-day figures for a range of days', query: StatsQuery, responses: { 200: StatsResponse }, errors: [...denied, 'invalid_input'] },
  { method: 'get', path: '/api/admin/live', tag: 'Admin', auth: 'admin', summary: 'Live figures of the whole cluster', responses: { 200: LiveFigures }, errors: [...denied] },
  { method: 'get', path: '/api/admin/shares', tag: 'Admin', auth: 'admin', summary: 'Every share, searchable', query: AdminSharesQuery, responses: { 200: pageOf(AdminShare) }, errors: [...denied, 'invalid_input'] },
  { method: 'delete', path: '/api/admin/shares/:id', tag: 'Admin', auth: 'admin', summary: 'Delete any share (audited)', params: z.object({ id: ShareId }), responses: { 204: { description: 'deleted' } }, errors: [...denied, 'not_found'] },
  { method: 'get', path: '/api/admin/users', tag: 'Admin', auth: 'admin', summary: 'Every account, searchable', query: AdminUsersQuery, responses: { 200: pageOf(AdminUser) }, errors: [...denied, 'invalid_input'] },
  { method: 'patch', path: '/api/admin/users/:id/role', tag: 'Admin', auth: 'admin', summary: "Change a user's role (audited)", params: user, body: SetRoleRequest, responses: { 200: Me }, errors: [...denied, 'invalid_input', 'not_found'] },
  { method: 'patch', path: '/api/admin/users/:id/disabled', tag: 'Admin', auth: 'admin', summary: 'Disable or enable an account (audited)', params: user, body: SetDisabledRequest, responses: { 200: Me.extend({ disabled: z.boolean() }) }, errors: [...denied, 'invalid_input', 'not_found'] },
  { method: 'patch', path: '/api/admin/users/:id/library', tag: 'Admin', auth: 'admin', summary: 'Allow a user to browse and link the library (audited)', params: user, body: SetLibraryAccessRequest, responses: { 200: LibraryAccessChanged }, errors: [...denied, 'invalid_input', 'not_found'] },
  { method: 'get', path: '/api/admin/settings', tag: 'Admin', auth: 'admin', summary: 'The upload policy in force and its environment defaults', responses: { 200: SettingsResponse }, errors: [...denied] },
  { method: 'put', path: '/api/admin/settings', tag: 'Admin', auth: 'admin', summary: 'Change the upload policy on every instance (audited)', body: AdminSettings, responses: { 200: SettingsResponse }, errors: [...denied, 'invalid_input'] },
  { method: 'get', path: '/api/admin/audit', tag: 'Admin', auth: 'admin', summary: 'The audit log, newest first', query: AuditQuery, responses: { 200: pageOf(AuditEntry) }, errors: [...denied, 'invalid_input'] },
  { method: 'get', path: '/api/admin/downloads', tag: 'Download monitor', auth: 'admin', summary: 'Every download the app streams (live and finished)', query: DownloadsQuery, responses: { 200: pageOf(MonitoredDownload) }, errors: [...denied, 'invalid_input'] },
  { method: 'post', path: '/api/admin/downloads/:id/stop', tag: 'Download monitor', auth: 'admin', summary: 'Stop a download wherever it runs', params: z.object({ id: DownloadId }), responses: { 204: { description: 'stopped' } }, errors: [...denied, 'download_not_active'] },
  { method: 'get', path: '/api/admin/notifications', tag: 'Notifications', auth: 'admin', summary: 'The notification delivery log', query: DeliveriesQuery, responses: { 200: pageOf(NotificationDelivery) }, errors: [...denied, 'invalid_input'] },
])
