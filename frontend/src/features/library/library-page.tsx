import type { LibraryAccess, LibraryEntry, LibraryInfo, LibraryLinkResponse, LibraryListing, NotifyOptions } from '@sharesync/protocol'
import { useCallback, useEffect, useState, type FormEvent } from 'react'
import { Alert } from '../../components/alert'
import { Button } from '../../components/button'
import { Card } from '../../components/card'
import { CopyButton } from '../../components/copy-button'
import { usePageTitle } from '../../components/page-title'
import { QrCode } from '../../components/qr-code'
import { errorMessage } from '../../lib/api'
import { formatBytes, formatDateTime, formatExpiry, formatPeriod } from '../../lib/format'
import { usePublicConfig } from '../../lib/use-public-config'
import { inputClass, TableScroll, tdClass, thClass } from '../admin/admin-parts'
import { libraryApi } from './library-api'

/** Route /library: browse LIBRARY_DIR, search it, and link to a file or folder in place (admins and allowed users). */
export function LibraryPage() {
  usePageTitle('Library')
  const [access, setAccess] = useState<LibraryAccess | null>(null)
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    libraryApi.access().then(setAccess, (err: unknown) => setError(errorMessage(err)))
  }, [])
  if (error) return <Alert tone="error">{error}</Alert>
  if (!access) return <p role="status">Loading…</p>
  if (!access.enabled || !access.allowed) {
    return (
      <Card className="space-y-2">
        <h1 className="text-2xl font-bold">Library</h1>
        <p>
          {!access.enabled
            ? 'This server has no library: an administrator can point LIBRARY_DIR at folders to share in place.'
            : 'An administrator has not given you access to the library.'}
        </p>
      </Card>
    )
  }
  return <Browser />
}

function Browser() {
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
      <h1 className="text-2xl font-bold">Library</h1>
      <p className="text-sm text-slate-600 dark:text-slate-400">
        Files already on this server. A link points at the file where it is: nothing is copied. A folder downloads as a zip.
      </p>
      <Card className="space-y-3">
        <nav aria-label="Folder path" className="flex flex-wrap items-center gap-1 text-sm">
          <button
            type="button"
            className="rounded px-1 font-medium text-indigo-700 underline dark:text-indigo-300"
            onClick={() => void open('')}
          >
            Library
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
          <form role="search" aria-label="Search the library" onSubmit={(e) => void search(e)} className="flex flex-wrap gap-2">
            <label className="min-w-0 flex-1">
              <span className="sr-only">Search in {path} by name</span>
              <input
                className={inputClass}
                type="search"
                placeholder={`Search in ${path}`}
                value={query}
                onChange={(e) => setQuery(e.target.value)}
              />
            </label>
            <Button type="submit">Search</Button>
            {results && (
              <Button variant="ghost" onClick={() => setResults(null)}>
                Clear
              </Button>
            )}
          </form>
        )}
        {error && <Alert tone="error">{error}</Alert>}
        {listing?.truncated && !results && <Alert tone="info">This folder holds more entries than are shown; search to find one.</Alert>}
        <TableScroll label="Library entries">
          <table className="w-full text-sm" data-testid="library-table">
            <thead>
              <tr>
                {['Name', 'Size', 'Modified', ''].map((h, i) => (
                  <th key={i} scope="col" className={thClass}>
                    {h || <span className="sr-only">Actions</span>}
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
                        aria-label={`Open folder ${results ? e.path : e.name}`}
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
                    {new Date(e.modifiedAt).toLocaleDateString()}
                  </td>
                  <td className={`${tdClass} text-right`}>
                    {path !== '' && (
                      <Button variant="secondary" onClick={() => setSelected(e)} aria-label={`Share ${e.name}`}>
                        Share
                      </Button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
        {entries.length === 0 && (
          <p className="text-sm text-slate-600 dark:text-slate-400">{results ? 'Nothing matches.' : 'This folder is empty.'}</p>
        )}
        {path && !results && (
          <Button
            variant="ghost"
            onClick={() =>
              setSelected({ name: crumbs.at(-1) ?? path, path, kind: 'folder', size: null, modifiedAt: new Date().toISOString() })
            }
          >
            Share this whole folder
          </Button>
        )}
      </Card>
      {selected && <LinkMaker key={selected.path} entry={selected} onClose={() => setSelected(null)} />}
    </div>
  )
}

/** Options of a library link (the cloud-link options) and the link once made. */
function LinkMaker({ entry, onClose }: { entry: LibraryEntry; onClose: () => void }) {
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
          Link to {entry.kind === 'folder' ? 'folder' : 'file'} “{entry.name}”
        </h2>
        <Button variant="ghost" onClick={onClose}>
          Close
        </Button>
      </div>
      {info && (
        <p className="text-sm text-slate-600 dark:text-slate-400" data-testid="library-info">
          {info.kind === 'folder'
            ? `${info.files} files, ${formatBytes(info.size ?? 0)}${info.truncated ? ' (more than a folder link may hold)' : ''} — downloads as a zip`
            : formatBytes(info.size ?? 0)}
        </p>
      )}
      {error && <Alert tone="error">{error}</Alert>}
      {link ? (
        <div className="space-y-3" data-testid="library-link">
          <Alert tone="success">
            The link is ready: {link.name}, {formatBytes(link.size)}, expires {formatExpiry(link.expiresAt)}
            {link.maxDownloads !== null ? `, ${link.maxDownloads} download${link.maxDownloads === 1 ? '' : 's'}` : ''}.
          </Alert>
          <div className="flex flex-wrap items-center gap-2">
            <input className={`${inputClass} min-w-0 flex-1`} readOnly value={link.url} aria-label="Link" />
            <CopyButton text={link.url} />
          </div>
          <QrCode text={link.url} label="QR code of the link" />
        </div>
      ) : (
        <form onSubmit={(e) => void submit(e)} className="grid gap-3 sm:grid-cols-2">
          <label className="space-y-1 text-sm">
            <span className="font-medium">Expires in</span>
            <select className={inputClass} value={chosenExpiry} onChange={(e) => setExpiresIn(Number(e.target.value))}>
              {choices.map((c) => (
                <option key={c} value={c}>
                  {formatPeriod(c)}
                </option>
              ))}
            </select>
          </label>
          <label className="space-y-1 text-sm">
            <span className="font-medium">Downloads allowed (empty: no limit)</span>
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
            <span className="font-medium">Password (optional)</span>
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
            <span className="font-medium">Tell me</span>
            <select
              className={inputClass}
              value={notify.downloads}
              onChange={(e) => setNotify({ ...notify, downloads: e.target.value as NotifyOptions['downloads'] })}
            >
              <option value="off">nothing about downloads</option>
              <option value="first">on the first download</option>
              <option value="every">on every download</option>
              <option value="last" disabled={maxDownloads.trim() === ''}>
                on the last allowed download
              </option>
            </select>
          </label>
          <label className="flex items-center gap-2 text-sm sm:col-span-2">
            <input type="checkbox" checked={notify.expired} onChange={(e) => setNotify({ ...notify, expired: e.target.checked })} />
            <span>Tell me if it expires without being downloaded</span>
          </label>
          <div className="sm:col-span-2">
            <Button type="submit" disabled={busy}>
              {busy ? 'Creating…' : 'Create link'}
            </Button>
          </div>
        </form>
      )}
    </Card>
  )
}
