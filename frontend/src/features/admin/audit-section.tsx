import type { AuditEntry, Page } from '@sharesync/protocol'
import { useCallback, useEffect, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { Alert } from '../../components/alert'
import { Card } from '../../components/card'
import { errorMessage } from '../../lib/api'
import { formatBytes, formatDateTime, formatPeriod } from '../../lib/format'
import { adminApi } from './admin-api'
import { Pager } from './admin-parts'

const LIMIT = 20

/** What an action did, in words: keys `admin.audit.<action>` with the action's dot as '_'. */
const actionKey = (action: AuditEntry['action']) => `admin.audit.${action.replace('.', '_')}`

/** Sizes and durations of a settings change, as people read them. */
function human(key: string, value: unknown): string {
  if (typeof value !== 'number') return String(value)
  if (/FileSize|Quota/.test(key)) return formatBytes(value)
  if (/Expiry|seconds/.test(key)) return formatPeriod(value)
  return String(value)
}

function detailsOf(e: AuditEntry): string {
  const d = e.details
  if (e.action === 'settings.update' && d.changed && typeof d.changed === 'object') {
    return Object.entries(d.changed as Record<string, { from: unknown; to: unknown }>)
      .map(([k, v]) => `${k}: ${human(k, v.from)} → ${human(k, v.to)}`)
      .join(', ')
  }
  if (e.action === 'token.create' || e.action === 'token.revoke') {
    return [d.name, Array.isArray(d.scopes) ? d.scopes.join(', ') : undefined].filter((v) => typeof v === 'string').join(': ')
  }
  return [d.email, d.role].filter((v) => typeof v === 'string').join(' → ')
}

/** Every admin action, newest first. `version` changes when the page knows something was added. */
export function AuditSection({ version }: { version: number }) {
  const { t } = useTranslation()
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
        {t('admin.tabs.audit')}
      </h2>
      {error && <Alert tone="error">{error}</Alert>}
      {page && page.items.length === 0 && <p className="text-sm text-slate-600 dark:text-slate-400">{t('admin.noAction')}</p>}
      {page && page.items.length > 0 && (
        <>
          {/* A list, not a table: each entry reads as a sentence, on a phone as on a laptop. */}
          <ol className="divide-y divide-slate-200 text-sm dark:divide-slate-700" data-testid="audit-list">
            {page.items.map((e) => (
              <li key={e.id} className="py-2">
                <p>
                  <span className="font-medium">{e.actorEmail}</span> {t(actionKey(e.action), { defaultValue: e.action })}
                  {e.targetId && <span className="ml-1 break-all font-mono text-xs text-slate-600 dark:text-slate-400">{e.targetId}</span>}
                </p>
                {detailsOf(e) && <p className="break-words text-slate-700 dark:text-slate-300">{detailsOf(e)}</p>}
                <time className="text-xs text-slate-600 dark:text-slate-400" dateTime={e.at}>
                  {formatDateTime(e.at)}
                </time>
              </li>
            ))}
          </ol>
          <Pager label={t('admin.tabs.audit')} total={page.total} limit={LIMIT} offset={offset} onOffset={setOffset} />
        </>
      )}
    </Card>
  )
}
