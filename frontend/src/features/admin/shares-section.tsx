import type { AdminShare, AdminSharesQuery, Page } from '@sharesync/protocol'
import { useCallback, useEffect, useState, type FormEvent } from 'react'
import { useTranslation } from 'react-i18next'
import { Alert } from '../../components/alert'
import { Button } from '../../components/button'
import { Card } from '../../components/card'
import { errorMessage } from '../../lib/api'
import { formatBytes, formatDate, formatDateTime, formatExpiry } from '../../lib/format'
import { adminApi } from './admin-api'
import { inputClass, Pager, TableScroll, tdClass, thClass } from './admin-parts'

const LIMIT = 20
type Status = AdminSharesQuery['status']
// A share with a download limit whose last download happened reads "used up" (admin.shareStatus.used_up),
// not "active 1 / 1".

/** Every share: search by name, id or owner; filter by status; delete (blob removed, link 404s). */
export function SharesSection({ onChanged }: { onChanged: () => void }) {
  const { t } = useTranslation()
  const [q, setQ] = useState('')
  const [search, setSearch] = useState('')
  const [status, setStatus] = useState<Status>('all')
  const [offset, setOffset] = useState(0)
  const [page, setPage] = useState<Page<AdminShare> | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [notice, setNotice] = useState<string | null>(null)
  const [confirming, setConfirming] = useState<string | null>(null)

  const load = useCallback(async () => {
    try {
      setPage(await adminApi.shares({ q: search, status, limit: LIMIT, offset }))
      setError(null)
    } catch (err) {
      setError(errorMessage(err))
    }
  }, [search, status, offset])
  useEffect(() => {
    void load()
  }, [load])

  function submit(e: FormEvent) {
    e.preventDefault()
    setOffset(0)
    setSearch(q.trim())
  }

  async function remove(share: AdminShare) {
    try {
      await adminApi.deleteShare(share.id)
      setNotice(t('admin.deletedShare', { name: share.name ?? share.id }))
      setConfirming(null)
      onChanged()
      await load()
    } catch (err) {
      setError(errorMessage(err))
    }
  }

  return (
    <Card className="space-y-3" aria-labelledby="shares-heading">
      <h2 id="shares-heading" className="text-lg font-semibold">
        {t('admin.tabs.shares')}
      </h2>
      <form role="search" aria-label={t('admin.searchShares')} onSubmit={submit} className="flex flex-wrap gap-2">
        <label className="min-w-0 flex-1">
          <span className="sr-only">{t('admin.searchSharesBy')}</span>
          <input
            className={inputClass}
            type="search"
            placeholder={t('admin.searchSharesPlaceholder')}
            value={q}
            onChange={(e) => setQ(e.target.value)}
          />
        </label>
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
            <option value="active">{t('admin.filter.active')}</option>
            <option value="used_up">{t('admin.filter.used_up')}</option>
            <option value="uploading">{t('admin.filter.uploading')}</option>
            <option value="expired">{t('admin.filter.expired')}</option>
            <option value="deleted">{t('admin.filter.deleted')}</option>
          </select>
        </label>
        <Button type="submit">{t('admin.search')}</Button>
      </form>
      {error && <Alert tone="error">{error}</Alert>}
      {notice && <Alert tone="success">{notice}</Alert>}
      {page && (
        <>
          <TableScroll label={t('admin.tabs.shares')}>
            <table className="w-full text-sm" data-testid="shares-table">
              <thead>
                <tr>
                  {[t('admin.share'), t('admin.owner'), t('admin.size'), t('admin.downloads'), t('admin.status'), t('admin.created'), ''].map((h, i) => (
                    <th key={i} scope="col" className={thClass}>
                      {h || <span className="sr-only">{t('admin.actions')}</span>}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {page.items.map((s) => (
                  <tr key={s.id} className="border-t border-slate-200 dark:border-slate-700">
                    <td className={`${tdClass} max-w-48`}>
                      {s.encrypted ? (
                        <div className="truncate font-medium" data-testid="encrypted-share">
                          {t('admin.encrypted')} · {t('common.fileCount', { count: s.fileCount })}
                        </div>
                      ) : (
                        <div className="truncate font-medium" title={s.name ?? ''}>
                          {s.name ?? t('admin.noFile')}
                          {s.fileCount > 1 ? ` +${s.fileCount - 1}` : ''}
                        </div>
                      )}
                      <div className="truncate font-mono text-xs text-slate-600 dark:text-slate-400">{s.id}</div>
                    </td>
                    <td className={`${tdClass} max-w-40 truncate`}>{s.ownerEmail ?? t('admin.anonymousOwner')}</td>
                    <td className={`${tdClass} whitespace-nowrap`}>{formatBytes(s.size)}</td>
                    <td className={tdClass}>
                      {s.downloads}
                      {s.maxDownloads !== null ? ` / ${s.maxDownloads}` : ''}
                      {/* The one rule of limits on several files, in the words the upload options and the share page use. */}
                      {s.maxDownloads !== null && s.fileCount > 1 && (
                        <div className="text-xs text-slate-600 dark:text-slate-400" data-testid="download-rule">
                          {t('share.oneVisit', { count: s.fileCount })}
                        </div>
                      )}
                    </td>
                    <td className={tdClass}>
                      {t(`admin.shareStatus.${s.status}`)}
                      {s.status === 'active' && (
                        <div className="whitespace-nowrap text-xs text-slate-600 dark:text-slate-400">
                          {t('common.expires', { when: formatExpiry(s.expiresAt) })}
                        </div>
                      )}
                    </td>
                    <td className={`${tdClass} whitespace-nowrap`} title={formatDateTime(s.createdAt)}>
                      {formatDate(s.createdAt)}
                    </td>
                    <td className={`${tdClass} whitespace-nowrap text-right`}>
                      {s.status !== 'deleted' &&
                        (confirming === s.id ? (
                          <span className="inline-flex gap-1">
                            <Button variant="danger" onClick={() => void remove(s)} aria-label={t('admin.confirmDeleting', { name: s.name ?? s.id })}>
                              {t('admin.confirm')}
                            </Button>
                            <Button variant="ghost" onClick={() => setConfirming(null)}>
                              {t('common.cancel')}
                            </Button>
                          </span>
                        ) : (
                          <Button variant="secondary" onClick={() => setConfirming(s.id)} aria-label={t('admin.deleteNamed', { name: s.name ?? s.id })}>
                            {t('common.delete')}
                          </Button>
                        ))}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
          {page.items.length === 0 && <p className="text-sm text-slate-600 dark:text-slate-400">{t('admin.noShareMatches')}</p>}
          <Pager label={t('admin.tabs.shares')} total={page.total} limit={LIMIT} offset={offset} onOffset={setOffset} />
        </>
      )}
    </Card>
  )
}
