import type { AdminUser, Me, Page } from '@sharesync/protocol'
import { useCallback, useEffect, useState, type FormEvent } from 'react'
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
        Users
      </h2>
      <form role="search" aria-label="Search users" onSubmit={submit} className="flex gap-2">
        <label className="min-w-0 flex-1">
          <span className="sr-only">Search users by email, name or id</span>
          <input className={inputClass} type="search" placeholder="Email, name or id" value={q} onChange={(e) => setQ(e.target.value)} />
        </label>
        <Button type="submit">Search</Button>
      </form>
      {error && <Alert tone="error">{error}</Alert>}
      {notice && <Alert tone="success">{notice}</Alert>}
      {page && (
        <>
          <TableScroll label="Users">
            <table className="w-full text-sm" data-testid="users-table">
              <thead>
                <tr>
                  {['User', 'Role', 'Status', 'Shares', 'Library', 'Last sign-in', ''].map((h, i) => (
                    <th key={i} scope="col" className={thClass}>
                      {h || <span className="sr-only">Actions</span>}
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
                      <td className={tdClass}>{u.role}</td>
                      <td className={tdClass}>
                        {u.disabled ? <span className="font-semibold text-red-800 dark:text-red-300">disabled</span> : 'active'}
                      </td>
                      <td className={`${tdClass} whitespace-nowrap`}>
                        {u.shares} · {formatBytes(u.storedBytes)}
                      </td>
                      <td className={tdClass}>
                        {u.role === 'admin' ? (
                          <span className="text-xs text-slate-600 dark:text-slate-400">always</span>
                        ) : (
                          <label className="inline-flex items-center gap-2">
                            <input
                              type="checkbox"
                              checked={u.libraryAccess}
                              aria-label={`Library access for ${u.email}`}
                              onChange={(e) => {
                                const allowed = e.target.checked
                                void act(() => adminApi.setLibraryAccess(u.id, allowed), `${u.email} ${allowed ? 'may now use' : 'may no longer use'} the library.`)
                              }}
                            />
                            <span className="sr-only sm:not-sr-only">{u.libraryAccess ? 'allowed' : 'no'}</span>
                          </label>
                        )}
                      </td>
                      <td className={`${tdClass} whitespace-nowrap`}>{u.lastLoginAt ? formatDateTime(u.lastLoginAt) : 'never'}</td>
                      <td className={`${tdClass} whitespace-nowrap text-right`}>
                        {self ? (
                          <span className="text-xs text-slate-600 dark:text-slate-400">you</span>
                        ) : (
                          <span className="inline-flex gap-1">
                            <Button
                              variant="secondary"
                              aria-label={`${u.role === 'admin' ? 'Demote' : 'Promote'} ${u.email}`}
                              onClick={() =>
                                void act(
                                  () => adminApi.setRole(u.id, u.role === 'admin' ? 'user' : 'admin'),
                                  `${u.email} is now ${u.role === 'admin' ? 'a user' : 'an admin'}.`,
                                )
                              }
                            >
                              {u.role === 'admin' ? 'Demote' : 'Promote'}
                            </Button>
                            <Button
                              variant={u.disabled ? 'secondary' : 'danger'}
                              aria-label={`${u.disabled ? 'Enable' : 'Disable'} ${u.email}`}
                              onClick={() =>
                                void act(
                                  () => adminApi.setDisabled(u.id, !u.disabled),
                                  `${u.email} is ${u.disabled ? 'enabled again' : 'disabled: signed out, links stopped'}.`,
                                )
                              }
                            >
                              {u.disabled ? 'Enable' : 'Disable'}
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
          {page.items.length === 0 && <p className="text-sm text-slate-600 dark:text-slate-400">No user matches.</p>}
          <Pager label="Users" total={page.total} limit={LIMIT} offset={offset} onOffset={setOffset} />
        </>
      )}
    </Card>
  )
}
