import type { AdminShare, AdminShareStatus, AdminSharesQuery, Page } from '@sharesync/protocol'
import { useCallback, useEffect, useState, type FormEvent } from 'react'
import { Alert } from '../../components/alert'
import { Button } from '../../components/button'
import { Card } from '../../components/card'
import { errorMessage } from '../../lib/api'
import { formatBytes, formatDateTime, formatExpiry } from '../../lib/format'
import { adminApi } from './admin-api'
import { inputClass, Pager, TableScroll, tdClass, thClass } from './admin-parts'

const LIMIT = 20
type Status = AdminSharesQuery['status']
/** A share with a download limit whose last download happened reads "used up", not "active 1 / 1". */
const STATUS_LABEL: Record<AdminShareStatus, string> = {
  uploading: 'uploading',
  active: 'active',
  used_up: 'used up',
  expired: 'expired',
  deleted: 'deleted',
}

/** Every share: search by name, id or owner; filter by status; delete (blob removed, link 404s). */
export function SharesSection({ onChanged }: { onChanged: () => void }) {
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
      setNotice(`Deleted ${share.name ?? share.id}.`)
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
        Shares
      </h2>
      <form role="search" aria-label="Search shares" onSubmit={submit} className="flex flex-wrap gap-2">
        <label className="min-w-0 flex-1">
          <span className="sr-only">Search shares by file name, id or owner email</span>
          <input
            className={inputClass}
            type="search"
            placeholder="File name, id or owner email"
            value={q}
            onChange={(e) => setQ(e.target.value)}
          />
        </label>
        <label>
          <span className="sr-only">Status</span>
          <select
            className={`${inputClass} w-auto`}
            value={status}
            onChange={(e) => {
              setOffset(0)
              setStatus(e.target.value as Status)
            }}
          >
            <option value="all">All</option>
            <option value="active">Active</option>
            <option value="used_up">Used up</option>
            <option value="uploading">Uploading</option>
            <option value="expired">Expired</option>
            <option value="deleted">Deleted</option>
          </select>
        </label>
        <Button type="submit">Search</Button>
      </form>
      {error && <Alert tone="error">{error}</Alert>}
      {notice && <Alert tone="success">{notice}</Alert>}
      {page && (
        <>
          <TableScroll label="Shares">
            <table className="w-full text-sm" data-testid="shares-table">
              <thead>
                <tr>
                  {['Share', 'Owner', 'Size', 'Downloads', 'Status', 'Created', ''].map((h, i) => (
                    <th key={i} scope="col" className={thClass}>
                      {h || <span className="sr-only">Actions</span>}
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
                          Encrypted · {s.fileCount} {s.fileCount === 1 ? 'file' : 'files'}
                        </div>
                      ) : (
                        <div className="truncate font-medium" title={s.name ?? ''}>
                          {s.name ?? '(no file)'}
                          {s.fileCount > 1 ? ` +${s.fileCount - 1}` : ''}
                        </div>
                      )}
                      <div className="truncate font-mono text-xs text-slate-600 dark:text-slate-400">{s.id}</div>
                    </td>
                    <td className={`${tdClass} max-w-40 truncate`}>{s.ownerEmail ?? 'anonymous'}</td>
                    <td className={`${tdClass} whitespace-nowrap`}>{formatBytes(s.size)}</td>
                    <td className={tdClass}>
                      {s.downloads}
                      {s.maxDownloads !== null ? ` / ${s.maxDownloads}` : ''}
                    </td>
                    <td className={tdClass}>
                      {STATUS_LABEL[s.status]}
                      {s.status === 'active' && (
                        <div className="whitespace-nowrap text-xs text-slate-600 dark:text-slate-400">
                          expires {formatExpiry(s.expiresAt)}
                        </div>
                      )}
                    </td>
                    <td className={`${tdClass} whitespace-nowrap`} title={formatDateTime(s.createdAt)}>
                      {new Date(s.createdAt).toLocaleDateString()}
                    </td>
                    <td className={`${tdClass} whitespace-nowrap text-right`}>
                      {s.status !== 'deleted' &&
                        (confirming === s.id ? (
                          <span className="inline-flex gap-1">
                            <Button variant="danger" onClick={() => void remove(s)} aria-label={`Confirm deleting ${s.name ?? s.id}`}>
                              Confirm
                            </Button>
                            <Button variant="ghost" onClick={() => setConfirming(null)}>
                              Cancel
                            </Button>
                          </span>
                        ) : (
                          <Button variant="secondary" onClick={() => setConfirming(s.id)} aria-label={`Delete ${s.name ?? s.id}`}>
                            Delete
                          </Button>
                        ))}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
          {page.items.length === 0 && <p className="text-sm text-slate-600 dark:text-slate-400">No share matches.</p>}
          <Pager label="Shares" total={page.total} limit={LIMIT} offset={offset} onOffset={setOffset} />
        </>
      )}
    </Card>
  )
}
