import type { DownloadsQuery, MonitoredDownload, Page } from '@sharesync/protocol'
import { api } from '../../lib/api'

const enc = encodeURIComponent

/** The download monitor's routes, for admins (`/api/admin/downloads`) or a share's owner (`/api/me/downloads`). */
export function monitorApi(scope: 'admin' | 'account') {
  const base = scope === 'admin' ? '/api/admin/downloads' : '/api/me/downloads'
  return {
    list: (p: Partial<Pick<DownloadsQuery, 'status' | 'shareId' | 'limit' | 'offset'>>) => {
      const q = new URLSearchParams()
      for (const [k, v] of Object.entries(p)) if (v !== undefined) q.set(k, String(v))
      return api<Page<MonitoredDownload>>(`${base}?${q}`)
    },
    stop: (id: string) => api<void>(`${base}/${enc(id)}/stop`, { method: 'POST' }),
  }
}
