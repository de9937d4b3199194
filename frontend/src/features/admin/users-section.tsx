import type { AdminUser, Me, Page } from '@sharesync/protocol'
import { useCallback, useEffect, useState, type FormEvent } from 'react'
import { useTranslation } from 'react-i18next'
import { Alert } from '../../components/alert'
import { Button } from '../../components/button'
import { Card } from '../../components/card'
import { errorMessage } from '../../lib/api'
import { formatBytes, formatDateTime } from '../../lib/format'
import { adminApi } from './admin-api'
import { inputClass, Pager, TableScroll, tdClass, thClass } from './admin-parts'

const LIMIT = 20

/** Every account: search by email, name or id; promote/demote; disable (signed out, links stop) / enable. */
export function UsersSection({ me, onChanged }: { me: Me; onChanged: () => void }) {
  const { t } = useTranslation()
  const [q, setQ] = useState('')
  const [search, setSearch] = useState('')
  const [offset, setOffset] = useState(0)
  const [page, setPage] = useState<Page<AdminUser> | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [notice, setNotice] = useState<string | null>(null)

  const load = useCallback(async () => {
    try {
      setPage(await adminApi.users({ q: search, limit: LIMIT, offset }))
      setError(null)
    } catch (err) {
      setError(errorMessage(err))
    }
  }, [search, offset])
  useEffect(() => {
    void load()
  }, [load])

  function submit(e: FormEvent) {
    e.preventDefault()
    setOffset(0)
    setSearch(q.trim())
  }

  async function act(work: () => Promise<unknown>, done: string) {
    try {
      await work()
      setNotice(done)
      setError(null)
      onChanged()
      await load()
    } catch (err) {
      setError(errorMessage(err))
    }
  }

  return (
    <Card className="space-y-3" aria-labelledby="users-heading">
      <h2 id="users-heading" className="text-lg font-semibold">
        {t('admin.users')}
      </h2>
      <form role="search" aria-label={t('admin.searchUsers')} onSubmit={submit} className="flex gap-2">
        <label className="min-w-0 flex-1">
          <span className="sr-only">{t('admin.searchUsersBy')}</span>
          <input className={inputClass} type="search" placeholder={t('admin.searchUsersPlaceholder')} value={q} onChange={(e) => setQ(e.target.value)} />
        </label>
        <Button type="submit">{t('admin.search')}</Button>
      </form>
      {error && <Alert tone="error">{error}</Alert>}
      {notice && <Alert tone="success">{notice}</Alert>}
      {page && (
        <>
          <TableScroll label={t('admin.users')}>
            <table className="w-full text-sm" data-testid="users-table">
              <thead>
                <tr>
                  {[t('admin.user'), t('admin.role'), t('admin.status'), t('admin.tabs.shares'), t('admin.library'), t('admin.lastSignIn'), ''].map((h, i) => (
                    <th key={i} scope="col" className={thClass}>
                      {h || <span className="sr-only">{t('admin.actions')}</span>}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {page.items.map((u) => {
                  const self = u.id === me.id
                  return (
                    <tr key={u.id} className="border-t border-slate-200 dark:border-slate-700">
                      <td className={`${tdClass} max-w-56`}>
                        <div className="truncate font-medium">{u.email}</div>
                        <div className="truncate text-xs text-slate-600 dark:text-slate-400">{u.name || '—'}</div>
                      </td>
                      <td className={tdClass}>{t(`admin.roles.${u.role}`)}</td>
                      <td className={tdClass}>
                        {u.disabled ? <span className="font-semibold text-red-800 dark:text-red-300">{t('admin.disabled')}</span> : t('admin.active')}
                      </td>
                      <td className={`${tdClass} whitespace-nowrap`}>
                        {u.shares} · {formatBytes(u.storedBytes)}
                      </td>
                      <td className={tdClass}>
                        {u.role === 'admin' ? (
                          <span className="text-xs text-slate-600 dark:text-slate-400">{t('admin.always')}</span>
                        ) : (
                          <label className="inline-flex items-center gap-2">
                            <input
                              type="checkbox"
                              checked={u.libraryAccess}
                              aria-label={t('admin.libraryAccessFor', { email: u.email })}
                              onChange={(e) => {
                                const allowed = e.target.checked
                                void act(() => adminApi.setLibraryAccess(u.id, allowed), t(allowed ? 'admin.libraryAllowed' : 'admin.libraryRevoked', { email: u.email }))
                              }}
                            />
                            <span className="sr-only sm:not-sr-only">{u.libraryAccess ? t('admin.allowed') : t('admin.no')}</span>
                          </label>
                        )}
                      </td>
                      <td className={`${tdClass} whitespace-nowrap`}>{u.lastLoginAt ? formatDateTime(u.lastLoginAt) : t('admin.never')}</td>
                      <td className={`${tdClass} whitespace-nowrap text-right`}>
                        {self ? (
                          <span className="text-xs text-slate-600 dark:text-slate-400">{t('admin.you')}</span>
                        ) : (
                          <span className="inline-flex gap-1">
                            <Button
                              variant="secondary"
                              aria-label={t(u.role === 'admin' ? 'admin.demoteUser' : 'admin.promoteUser', { email: u.email })}
                              onClick={() =>
                                void act(
                                  () => adminApi.setRole(u.id, u.role === 'admin' ? 'user' : 'admin'),
                                  t(u.role === 'admin' ? 'admin.nowUser' : 'admin.nowAdmin', { email: u.email }),
                                )
                              }
                            >
                              {u.role === 'admin' ? t('admin.demote') : t('admin.promote')}
                            </Button>
                            <Button
                              variant={u.disabled ? 'secondary' : 'danger'}
                              aria-label={t(u.disabled ? 'admin.enableUser' : 'admin.disableUser', { email: u.email })}
                              onClick={() =>
                                void act(
                                  () => adminApi.setDisabled(u.id, !u.disabled),
                                  t(u.disabled ? 'admin.nowEnabled' : 'admin.nowDisabled', { email: u.email }),
                                )
                              }
                            >
                              {u.disabled ? t('admin.enable') : t('admin.disable')}
                            </Button>
                          </span>
                        )}
                      </td>
                    </tr>
                  )
                })}
              </tbody>
            </table>
          </TableScroll>
           {page.items.length === 0 && <p className="text-sm text-slate-600 dark:text-slate-400">{t('admin.noUserMatches')}</p>}
          <Pager label={t('admin.users')} total={page.total} limit={LIMIT} offset={offset} onOffset={setOffset} />
        </>
      )}
    </Card>
  )
}
