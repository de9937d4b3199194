import type { LibraryAccess, LibraryEntry, LibraryInfo, LibraryLinkResponse, LibraryListing, NotifyOptions } from '@sharesync/protocol'
import { useCallback, useEffect, useState, type FormEvent } from 'react'
import { useTranslation } from 'react-i18next'
import { Alert } from '../../components/alert'
import { Button } from '../../components/button'
import { Card } from '../../components/card'
import { CopyButton } from '../../components/copy-button'
import { usePageTitle } from '../../components/page-title'
import { QrCode } from '../../components/qr-code'
import { errorMessage } from '../../lib/api'
import { formatBytes, formatDate, formatDateTime, formatExpiry, formatPeriod } from '../../lib/format'
import { usePublicConfig } from '../../lib/use-public-config'
import { inputClass, TableScroll, tdClass, thClass } from '../admin/admin-parts'
import { libraryApi } from './library-api'

/** Route /library: browse LIBRARY_DIR, search it, and link to a file or folder in place (admins and allowed users). */
export function LibraryPage() {
  const { t } = useTranslation()
  usePageTitle(t('auth.library'))
  const [access, setAccess] = useState<LibraryAccess | null>(null)
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    libraryApi.access().then(setAccess, (err: unknown) => setError(errorMessage(err)))
  }, [])
  if (error) return <Alert tone="error">{error}</Alert>
  if (!access) return <p role="status">{t('common.loading')}</p>
  if (!access.enabled || !access.allowed) {
    return (
      <Card className="space-y-2">
        <h1 className="text-2xl font-bold">{t('auth.library')}</h1>
        <p>{!access.enabled ? t('library.none') : t('library.noAccess')}</p>
      </Card>
    )
  }
  return <Browser />
}

function Browser() {
  const { t } = useTranslation()
  const [path, setPath] = useState('')
  const [listing, setListing] = useState<LibraryListing | null>(null)
  const [results, setResults] = useState<LibraryEntry[] | null>(null)
  const [query, setQuery] = useState('')
  const [selected, setSelected] = useState<LibraryEntry | null>(null)
  const [error, setError] = useState<string | null>(null)

  const open = useCallback(async (next: string) => {
    try {
      const l = await libraryApi.list(next)
      setListing(l)
      setPath(l.path)
      setResults(null)
      setSelected(null)
      setError(null)
    } catch (err) {
      setError(errorMessage(err))
    }
  }, [])
  useEffect(() => {
    void open('')
  }, [open])

  async function search(e: FormEvent) {
    e.preventDefault()
    if (!query.trim() || !path) return
    try {
      setResults((await libraryApi.search(path, query.trim())).results)
      setError(null)
    } catch (err) {
      setError(errorMessage(err))
    }
  }

  const crumbs = path ? path.split('/') : []
  const entries = results ?? listing?.entries ?? []

  return (
    <div className="space-y-6">
      <h1 className="text-2xl font-bold">{t('auth.library')}</h1>
      <p className="text-sm text-slate-600 dark:text-slate-400">{t('library.intro')}</p>
      <Card className="space-y-3">
        <nav aria-label={t('library.folderPath')} className="flex flex-wrap items-center gap-1 text-sm">
          <button
            type="button"
            className="rounded px-1 font-medium text-indigo-700 underline dark:text-indigo-300"
            onClick={() => void open('')}
          >
            {t('auth.library')}
          </button>
          {crumbs.map((name, i) => (
            <span key={i} className="flex items-center gap-1">
              <span aria-hidden="true">/</span>
              <button
                type="button"
                className="rounded px-1 font-medium text-indigo-700 underline dark:text-indigo-300"
                onClick={() => void open(crumbs.slice(0, i + 1).join('/'))}
              >
                {name}
              </button>
            </span>
          ))}
        </nav>
        {path && (
          <form role="search" aria-label={t('library.search')} onSubmit={(e) => void search(e)} className="flex flex-wrap gap-2">
            <label className="min-w-0 flex-1">
              <span className="sr-only">{t('library.searchInByName', { path })}</span>
              <input
                className={inputClass}
                type="search"
                placeholder={t('library.searchIn', { path })}
                value={query}
                onChange={(e) => setQuery(e.target.value)}
              />
            </label>
            <Button type="submit">{t('admin.search')}</Button>
            {results && (
              <Button variant="ghost" onClick={() => setResults(null)}>
                {t('upload.clear')}
              </Button>
            )}
          </form>
        )}
        {error && <Alert tone="error">{error}</Alert>}
        {listing?.truncated && !results && <Alert tone="info">{t('library.truncated')}</Alert>}
        <TableScroll label={t('library.entries')}>
          <table className="w-full text-sm" data-testid="library-table">
            <thead>
              <tr>
                {[t('tokens.name'), t('admin.size'), t('library.modified'), ''].map((h, i) => (
                  <th key={i} scope="col" className={thClass}>
                    {h || <span className="sr-only">{t('admin.actions')}</span>}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => (
                <tr
                  key={e.path}
                  className={`border-t border-slate-200 dark:border-slate-700 ${selected?.path === e.path ? 'bg-indigo-50 dark:bg-slate-800' : ''}`}
                >
                  <td className={`${tdClass} max-w-64`}>
                    {e.kind === 'folder' ? (
                      <button
                        type="button"
                        aria-label={t('library.openFolder', { name: results ? e.path : e.name })}
                        className="truncate text-left font-medium text-indigo-700 underline dark:text-indigo-300"
                        onClick={() => void open(e.path)}
                      >
                        📁 {results ? e.path : e.name}
                      </button>
                    ) : (
                      <span className="truncate">📄 {results ? e.path : e.name}</span>
                    )}
                  </td>
                  <td className={`${tdClass} whitespace-nowrap`}>{e.size === null ? '—' : formatBytes(e.size)}</td>
                  <td className={`${tdClass} whitespace-nowrap`} title={formatDateTime(e.modifiedAt)}>
                    {formatDate(e.modifiedAt)}
                  </td>
                  <td className={`${tdClass} text-right`}>
                    {path !== '' && (
                      <Button variant="secondary" onClick={() => setSelected(e)} aria-label={t('library.shareNamed', { name: e.name })}>
                        {t('library.share')}
                      </Button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
        {entries.length === 0 && (
          <p className="text-sm text-slate-600 dark:text-slate-400">{results ? t('library.nothingMatches') : t('library.empty')}</p>
        )}
        {path && !results && (
          <Button
            variant="ghost"
            onClick={() =>
              setSelected({ name: crumbs.at(-1) ?? path, path, kind: 'folder', size: null, modifiedAt: new Date().toISOString() })
            }
          >
            {t('library.shareFolder')}
          </Button>
        )}
      </Card>
      {selected && <LinkMaker key={selected.path} entry={selected} onClose={() => setSelected(null)} />}
    </div>
  )
}

/** Options of a library link (the cloud-link options) and the link once made. */
function LinkMaker({ entry, onClose }: { entry: LibraryEntry; onClose: () => void }) {
  const { t } = useTranslation()
  const { config } = usePublicConfig()
  const [info, setInfo] = useState<LibraryInfo | null>(null)
  const [expiresIn, setExpiresIn] = useState<number | null>(null)
  const [maxDownloads, setMaxDownloads] = useState('')
  const [password, setPassword] = useState('')
  const [notify, setNotify] = useState<NotifyOptions>({ downloads: 'off', expired: false })
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const [link, setLink] = useState<LibraryLinkResponse | null>(null)

  useEffect(() => {
    libraryApi.info(entry.path).then(setInfo, (err: unknown) => setError(errorMessage(err)))
  }, [entry.path])

  const choices = config?.expiryChoices ?? []
  const chosenExpiry = expiresIn ?? config?.defaults.expiresIn ?? choices[0] ?? 86_400

  async function submit(e: FormEvent) {
    e.preventDefault()
    setBusy(true)
    setError(null)
    try {
      const max = maxDownloads.trim() === '' ? undefined : Number(maxDownloads)
      setLink(
        await libraryApi.createLink({
          path: entry.path,
          expiresIn: chosenExpiry,
          ...(max !== undefined ? { maxDownloads: max } : {}),
          ...(password ? { password } : {}),
          ...(notify.downloads !== 'off' || notify.expired ? { notify } : {}),
        }),
      )
    } catch (err) {
      setError(errorMessage(err))
    } finally {
      setBusy(false)
    }
  }

  return (
    <Card className="space-y-4" aria-labelledby="link-maker-heading">
      <div className="flex flex-wrap items-baseline justify-between gap-2">
        <h2 id="link-maker-heading" className="text-lg font-semibold">
          {t(entry.kind === 'folder' ? 'library.linkToFolder' : 'library.linkToFile', { name: entry.name })}
        </h2>
        <Button variant="ghost" onClick={onClose}>
          {t('library.close')}
        </Button>
      </div>
      {info && (
        <p className="text-sm text-slate-600 dark:text-slate-400" data-testid="library-info">
          {info.kind === 'folder'
            ? t(info.truncated ? 'library.folderInfoTruncated' : 'library.folderInfo', { count: info.files, size: formatBytes(info.size ?? 0) })
            : formatBytes(info.size ?? 0)}
        </p>
      )}
      {error && <Alert tone="error">{error}</Alert>}
      {link ? (
        <div className="space-y-3" data-testid="library-link">
          <Alert tone="success">
            {link.maxDownloads !== null
              ? t('library.readyLimited', { name: link.name, size: formatBytes(link.size), when: formatExpiry(link.expiresAt), count: link.maxDownloads })
              : t('library.ready', { name: link.name, size: formatBytes(link.size), when: formatExpiry(link.expiresAt) })}
          </Alert>
          <div className="flex flex-wrap items-center gap-2">
            <input className={`${inputClass} min-w-0 flex-1`} readOnly value={link.url} aria-label={t('result.link')} />
            <CopyButton text={link.url} />
          </div>
          <QrCode text={link.url} label={t('result.qrOf', { url: link.url })} />
        </div>
      ) : (
        <form onSubmit={(e) => void submit(e)} className="grid gap-3 sm:grid-cols-2">
          <label className="space-y-1 text-sm">
            <span className="font-medium">{t('library.expiresIn')}</span>
            <select className={inputClass} value={chosenExpiry} onChange={(e) => setExpiresIn(Number(e.target.value))}>
              {choices.map((c) => (
                <option key={c} value={c}>
                  {formatPeriod(c)}
                </option>
              ))}
            </select>
          </label>
          <label className="space-y-1 text-sm">
            <span className="font-medium">{t('library.downloadsAllowed')}</span>
            <input
              className={inputClass}
              type="number"
              min={1}
              max={1_000_000}
              inputMode="numeric"
              value={maxDownloads}
              onChange={(e) => setMaxDownloads(e.target.value)}
            />
          </label>
          <label className="space-y-1 text-sm">
            <span className="font-medium">{t('upload.passwordOptional')}</span>
            <input
              className={inputClass}
              type="password"
              autoComplete="new-password"
              maxLength={256}
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          </label>
          <label className="space-y-1 text-sm">
            <span className="font-medium">{t('notify.tellMe')}</span>
            <select
              className={inputClass}
              value={notify.downloads}
              onChange={(e) => setNotify({ ...notify, downloads: e.target.value as NotifyOptions['downloads'] })}
            >
              <option value="off">{t('notify.off')}</option>
              <option value="first">{t('notify.first')}</option>
              <option value="every">{t('notify.every')}</option>
              <option value="last" disabled={maxDownloads.trim() === ''}>
                {t('notify.last')}
              </option>
            </select>
          </label>
          <label className="flex items-center gap-2 text-sm sm:col-span-2">
            <input type="checkbox" checked={notify.expired} onChange={(e) => setNotify({ ...notify, expired: e.target.checked })} />
            <span>{t('library.tellExpired')}</span>
          </label>
          <div className="sm:col-span-2">
            <Button type="submit" disabled={busy}>
              {busy ? t('upload.creating') : t('library.createLink')}
            </Button>
          </div>
        </form>
      )}
    </Card>
  )
}
