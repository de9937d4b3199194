import type { DeliveriesQuery, NotificationDelivery, Page } from '@sharesync/protocol'
import { useCallback, useEffect, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { Alert } from '../../components/alert'
import { Button } from '../../components/button'
import { Card } from '../../components/card'
import { errorMessage } from '../../lib/api'
import { formatDateTime } from '../../lib/format'
import { adminApi } from './admin-api'
import { inputClass, Pager, TableScroll, tdClass, thClass } from './admin-parts'

const LIMIT = 20
type Status = DeliveriesQuery['status']

/** The notification delivery log: every e-mail and webhook, its attempts and last answer. */
export function NotificationsSection() {
  const { t } = useTranslation()
  const [status, setStatus] = useState<Status>('all')
  const [offset, setOffset] = useState(0)
  const [page, setPage] = useState<Page<NotificationDelivery> | null>(null)
  const [error, setError] = useState<string | null>(null)

  const load = useCallback(async () => {
    try {
      setPage(await adminApi.deliveries({ status, limit: LIMIT, offset }))
      setError(null)
    } catch (err) {
      setError(errorMessage(err))
    }
  }, [status, offset])
  useEffect(() => {
    void load()
  }, [load])

  return (
    <Card className="space-y-3" aria-labelledby="deliveries-heading">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h2 id="deliveries-heading" className="text-lg font-semibold">
          {t('admin.deliveries')}
        </h2>
        <div className="flex gap-2">
          <label>
            <span className="sr-only">{t('admin.status')}</span>
            <select
              className={`${inputClass} w-auto`}
              value={status}
              onChange={(e) => {
                setOffset(0)
                setStatus(e.target.value as Status)
              }}
            >
              <option value="all">{t('admin.filter.all')}</option>
              <option value="pending">{t('admin.filter.pending')}</option>
              <option value="delivered">{t('admin.filter.delivered')}</option>
              <option value="failed">{t('admin.filter.failed')}</option>
            </select>
          </label>
          <Button variant="secondary" onClick={() => void load()}>
            {t('admin.refresh')}
          </Button>
        </div>
      </div>
      {error && <Alert tone="error">{error}</Alert>}
      {page && (
        <>
          <TableScroll label={t('admin.deliveries')}>
            <table className="w-full text-sm" data-testid="deliveries-table">
              <thead>
                <tr>
                  {[t('admin.event.heading'), t('admin.deliveryTo'), t('admin.status'), t('admin.attempts'), t('admin.lastAnswer'), t('admin.queued')].map((h) => (
                    <th key={h} scope="col" className={thClass}>
                      {h}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {page.items.map((d) => (
                  <tr key={d.id} className="border-t border-slate-200 dark:border-slate-700">
                    <td className={tdClass}>
                      <div className="font-medium">{d.event}</div>
                      <div className="truncate font-mono text-xs text-slate-600 dark:text-slate-400">{d.shareId}</div>
                    </td>
                    <td className={tdClass}>
                      {d.channel} · {d.target}
                    </td>
                    <td className={tdClass}>
                      {t(`admin.delivery.${d.status}`)}
                      {d.nextAttemptAt && d.status === 'pending' && d.attempts > 0 && (
                        <div className="text-xs text-slate-600 dark:text-slate-400">{t('admin.nextTry', { when: formatDateTime(d.nextAttemptAt) })}</div>
                      )}
                    </td>
                    <td className={tdClass}>{d.attempts}</td>
                    <td className={`${tdClass} max-w-56 truncate`} title={d.lastError ?? ''}>
                      {d.lastStatus ?? ''} {d.lastError ?? ''}
                    </td>
                    <td className={`${tdClass} whitespace-nowrap`}>{formatDateTime(d.createdAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
          {page.items.length === 0 && <p className="text-sm text-slate-600 dark:text-slate-400">{t('admin.noDeliveries')}</p>}
          <Pager label={t('admin.deliveries')} total={page.total} limit={LIMIT} offset={offset} onOffset={setOffset} />
        </>
      )}
    </Card>
  )
}
