import type {
  AdminSettings,
  AdminShare,
  AdminSharesQuery,
  AdminUser,
  AuditEntry,
  DeliveriesQuery,
  NotificationDelivery,
  LiveFigures,
  Me,
  Page,
  Role,
  SettingsResponse,
  StatsResponse,
} from '@sharesync/protocol'
import { api } from '../../lib/api'

const enc = encodeURIComponent

function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v))
  const s = q.toString()
  return s ? `?${s}` : ''
}

/** Typed calls of the admin API (`/api/admin/*`). */
export const adminApi = {
  stats: (range: { from?: string; to?: string } = {}) => api<StatsResponse>(`/api/admin/stats${query(range)}`),
  live: () => api<LiveFigures>('/api/admin/live'),
  shares: (p: { q?: string; status?: AdminSharesQuery['status']; limit: number; offset: number }) =>
    api<Page<AdminShare>>(`/api/admin/shares${query(p)}`),
  deleteShare: (id: string) => api<void>(`/api/admin/shares/${enc(id)}`, { method: 'DELETE' }),
  users: (p: { q?: string; limit: number; offset: number }) => api<Page<AdminUser>>(`/api/admin/users${query(p)}`),
  setRole: (id: string, role: Role) => api<Me>(`/api/admin/users/${enc(id)}/role`, { method: 'PATCH', body: { role } }),
  setDisabled: (id: string, disabled: boolean) =>
    api<Me & { disabled: boolean }>(`/api/admin/users/${enc(id)}/disabled`, { method: 'PATCH', body: { disabled } }),
  setLibraryAccess: (id: string, allowed: boolean) => api<{ id: string; allowed: boolean }>(`/api/admin/users/${enc(id)}/library`, { method: 'PATCH', body: { allowed } }),
  deliveries: (p: { status?: DeliveriesQuery['status']; limit: number; offset: number }) => api<Page<NotificationDelivery>>(`/api/admin/notifications${query(p)}`),
  settings: () => api<SettingsResponse>('/api/admin/settings'),
  saveSettings: (settings: AdminSettings) => api<SettingsResponse>('/api/admin/settings', { method: 'PUT', body: settings }),
  audit: (p: { limit: number; offset: number }) => api<Page<AuditEntry>>(`/api/admin/audit${query(p)}`),
}
