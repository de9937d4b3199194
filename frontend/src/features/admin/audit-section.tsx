import type { AuditEntry, Page } from '@sharesync/protocol'
import { useCallback, useEffect, useState } from 'react'
import { Alert } from '../../components/alert'
import { Card } from '../../components/card'
import { errorMessage } from '../../lib/api'
import { formatDateTime } from '../../lib/format'
import { adminApi } from './admin-api'
import { Pager, TableScroll, tdClass, thClass } from './admin-parts'

const LIMIT = 20

const ACTIONS: Record<AuditEntry['action'], string> = {
  'share.delete': 'deleted a share',
  'user.disable': 'disabled a user',
  'user.enable': 'enabled a user',
  'user.role': 'changed a role',
  'settings.update': 'changed settings',
}

function detailsOf(e: AuditEntry): string {
  const d = e.details
  if (e.action === 'settings.update' && d.changed && typeof d.changed === 'object') {
    return Object.entries(d.changed as Record<string, { from: unknown; to: unknown }>)
      .map(([k, v]) => `${k}: ${String(v.from)} → ${String(v.to)}`)
      .join(', ')
  }
  return [d.email, d.role].filter((v) => typeof v === 'string').join(' → ')
}

/** Every admin action, newest first. `version` changes when the page knows something was added. */
export function AuditSection({ version }: { version: number }) {
  const [offset, setOffset] = useState(0)
  const [page, setPage] = useState<Page<AuditEntry> | null>(null)
  const [error, setError] = useState<string | null>(null)

  const load = useCallback(async () => {
    try {
      setPage(await adminApi.audit({ limit: LIMIT, offset }))
      setError(null)
    } catch (err) {
      setError(errorMessage(err))
    }
  }, [offset])
  useEffect(() => {
    void load()
  }, [load, version])

  return (
    <Card className="space-y-3" aria-labelledby="audit-heading">
      <h2 id="audit-heading" className="text-lg font-semibold">
        Audit log
      </h2>
      {error && <Alert tone="error">{error}</Alert>}
      {page && page.items.length === 0 && <p className="text-sm text-slate-600 dark:text-slate-400">No admin action yet.</p>}
      {page && page.items.length > 0 && (
        <>
          <TableScroll label="Audit log">
            <table className="w-full text-sm" data-testid="audit-table">
              <thead>
                <tr>
                  {['When', 'Who', 'What', 'Target', 'Details'].map((h) => (
                    <th key={h} scope="col" className={thClass}>
                      {h}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {page.items.map((e) => (
                  <tr key={e.id} className="border-t border-slate-200 dark:border-slate-700">
                    <td className={`${tdClass} whitespace-nowrap`}>
                      <time dateTime={e.at}>{formatDateTime(e.at)}</time>
                    </td>
                    <td className={`${tdClass} max-w-40 truncate`}>{e.actorEmail}</td>
                    <td className={`${tdClass} whitespace-nowrap`}>{ACTIONS[e.action] ?? e.action}</td>
                    <td className={`${tdClass} max-w-32 truncate font-mono text-xs`}>{e.targetId ?? '—'}</td>
                    <td className={`${tdClass} min-w-48 break-words`}>{detailsOf(e)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
          <Pager label="Audit log" total={page.total} limit={LIMIT} offset={offset} onOffset={setOffset} />
        </>
      )}
    </Card>
  )
}
