import { Field, Input, Label } from '@headlessui/react'
import { PREVIEW_LIMITED_MIN_SIZE, PREVIEW_MAX_DOCUMENT_BYTES, previewKind, type ShareFile, type ShareMetadata } from '@sharesync/protocol'
import { useEffect, useState, type FormEvent } from 'react'
import { useTranslation } from 'react-i18next'
import { useLocation, useParams } from 'react-router-dom'
import { Alert } from '../../components/alert'
import { Button } from '../../components/button'
import { Card } from '../../components/card'
import { usePageTitle } from '../../components/page-title'
import { ApiError, errorMessage } from '../../lib/api'
import { formatBytes, formatDateTime, formatExpiry, formatWait } from '../../lib/format'
import { cloudApi } from './cloud-api'
import { savedLease, saveLease } from './download-lease'
import { FilePreview } from '../sharing/file-preview'
import { FileTree } from '../sharing/file-tree'
import { Note } from '../sharing/note'
import { TextShare } from '../sharing/text-share'
import { EncryptedShare } from './encrypted-share'
import { LinkGone } from './link-gone'
import { DirectLine } from '../link/direct-line'
import { directFirst } from '../link/direct-first'
import { useLinkReceiver } from '../link/use-link'

/** Whether the share page offers a preview of this file (the server decides too, with the same rules). */
export function previewable(
  file: { name: string; type: string; size: number },
  meta: Pick<ShareMetadata, 'previews' | 'maxDownloads'>,
): boolean {
  if (!meta.previews) return false
  const what = previewKind({ name: file.name, content_type: file.type })
  if (!what) return false
  // A limited share previews only the beginning of large text files (a preview is never a free download).
  if (typeof meta.maxDownloads === 'number') return what.kind === 'text' && file.size >= PREVIEW_LIMITED_MIN_SIZE
  return !((what.kind === 'image' || what.kind === 'pdf') && file.size > PREVIEW_MAX_DOCUMENT_BYTES)
}

type State =
  | { kind: 'loading' }
  | { kind: 'gone' }
  | { kind: 'error'; message: string }
  | { kind: 'locked'; meta: ShareMetadata }
  /** end-to-end encrypted: decrypted in the browser with the key from the link's fragment */
  | { kind: 'encrypted'; meta: ShareMetadata }
  | { kind: 'open'; meta: ShareMetadata; files: ShareFile[]; password?: string }

/** Starts a download: the presigned URL answers with Content-Disposition: attachment, so the page stays. */
function startDownload(url: string) {
  const a = document.createElement('a')
  a.href = url
  a.rel = 'noopener'
  a.style.display = 'none'
  document.body.appendChild(a)
  a.click()
  a.remove()
}

/** `/s/:id`: what a recipient sees — files, sizes, expiry, downloads left, a password prompt when needed. */
export function SharePage() {
  const { t } = useTranslation()
  const { id = '' } = useParams()
  // An encrypted link's key is the fragment: a new fragment (edited by hand) is a new attempt.
  const { hash } = useLocation()
  const [state, setState] = useState<State>({ kind: 'loading' })
  const [password, setPassword] = useState('')
  const [passwordError, setPasswordError] = useState<string | null>(null)
  const [unlocking, setUnlocking] = useState(false)
  const [downloading, setDownloading] = useState<string | null>(null)
  const [downloadError, setDownloadError] = useState<string | null>(null)
  const [started, setStarted] = useState<string[]>([])
  const [lease, setLease] = useState<string | null>(() => savedLease(id))
  const [previewing, setPreviewing] = useState<string[]>([])
  usePageTitle(state.kind === 'open' ? t('share.download') : state.kind === 'locked' ? t('share.passwordRequired') : '')
  // A link its sender's page also serves: directly while a host is online, else from the cloud copy.
  const openPassword = state.kind === 'open' ? state.password : undefined
  const direct = state.kind === 'open' && state.meta.kind !== 'text' ? (state.meta.direct ?? null) : null
  const { receiver, view: directView } = useLinkReceiver(id, openPassword, direct, () => cloudApi.getShare(id, openPassword).then((m) => m.direct))

  useEffect(() => {
    let live = true
    cloudApi.getShare(id).then(
      (meta) => {
        if (!live) return
        if (meta.encrypted) setState({ kind: 'encrypted', meta })
        else if (meta.files) setState({ kind: 'open', meta, files: meta.files })
        else setState({ kind: 'locked', meta })
      },
      (err: unknown) => {
        if (!live) return
        if (err instanceof ApiError && (err.status === 404 || err.code === 'invalid_input')) setState({ kind: 'gone' })
        else setState({ kind: 'error', message: errorMessage(err) })
      },
    )
    return () => {
      live = false
    }
  }, [id])

  const unlock = async (e: FormEvent) => {
    e.preventDefault()
    if (!password) return
    setUnlocking(true)
    setPasswordError(null)
    try {
      const meta = await cloudApi.getShare(id, password)
      if (meta.files) setState({ kind: 'open', meta, files: meta.files, password })
      else setPasswordError(t('share.wrongPassword'))
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) setState({ kind: 'gone' })
      else if (err instanceof ApiError && err.code === 'password_invalid') setPasswordError(t('share.wrongPassword'))
      else if (err instanceof ApiError && err.status === 429)
        setPasswordError(err.retryAfter ? t('share.tooManyAttemptsIn', { when: formatWait(err.retryAfter) }) : t('share.tooManyAttempts'))
      else setPasswordError(errorMessage(err))
    } finally {
      setUnlocking(false)
    }
  }

  /** One file, or `'all'`: the whole share as one zip ("Download all"), under the same lease. */
  const download = async (file: ShareFile | 'all') => {
    if (state.kind !== 'open') return
    const key = file === 'all' ? 'all' : file.id
    setDownloading(key)
    setDownloadError(null)
    /** The download began (or, directly, ended); `held`: the lease it holds on a limited share. */
    const took = (held: string | undefined) => {
      setStarted((s) => (file === 'all' ? [...s, ...state.files.map((f) => f.id), 'all'] : [...s, file.id]))
      if (!held || held === lease) return
      setLease(held)
      saveLease(id, held)
      const dec = (n: number | null | undefined) => (typeof n === 'number' ? Math.max(0, n - 1) : n)
      setState({
        ...state,
        meta: { ...state.meta, downloadsLeft: dec(state.meta.downloadsLeft) },
        files: state.files.map((f) => ({ ...f, downloadsLeft: dec(f.downloadsLeft) ?? null })),
      })
    }
    let viaCloudLease = lease ?? undefined
    if (receiver) {
      const outcome = await directFirst(receiver, file === 'all' ? undefined : [file.id], lease ?? undefined)
      if (outcome.kind === 'done') {
        took(outcome.lease)
        setDownloading(null)
        return
      }
      if (outcome.kind !== 'cloud') {
        setDownloading(null)
        if (outcome.kind === 'offline') return setDownloadError(t('link.pathOffline'))
        if (outcome.code === 'share_not_found') return setState({ kind: 'gone' })
        if (outcome.code === 'download_in_progress') return setDownloadError(outcome.retryAfter ? t('share.busyIn', { when: formatWait(outcome.retryAfter) }) : t('share.busy'))
        return setDownloadError(outcome.message)
      }
      viaCloudLease = outcome.lease ?? viaCloudLease
    }
    try {
      const issued =
        file === 'all'
          ? await cloudApi.requestZip(id, state.password, viaCloudLease)
          : await cloudApi.requestDownload(id, file.id, state.password, viaCloudLease)
      startDownload(issued.url)
      // A limited share: this visitor now holds one of its downloads (the whole share, every file).
      // Show it without asking the server (a used-up link would answer 404).
      took(issued.lease?.token)
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) setState({ kind: 'gone' })
      else if (err instanceof ApiError && err.code === 'download_in_progress')
        setDownloadError(err.retryAfter ? t('share.busyIn', { when: formatWait(err.retryAfter) }) : t('share.busy'))
      else if (err instanceof ApiError && err.code === 'download_link_used')
        setDownloadError(file === 'all' ? t('share.alreadyAll') : t('share.alreadyOne'))
      else setDownloadError(errorMessage(err))
    } finally {
      setDownloading(null)
    }
  }

  if (state.kind === 'loading') {
    return (
      <Card className="mx-auto max-w-2xl" aria-busy="true">
        <p role="status" className="text-slate-700 dark:text-slate-300">
          {t('common.loading')}
        </p>
      </Card>
    )
  }
  if (state.kind === 'gone') return <LinkGone />
  if (state.kind === 'encrypted') return <EncryptedShare key={hash} id={id} initial={state.meta} />
  if (state.kind === 'error') {
    return (
      <Card className="mx-auto max-w-2xl space-y-4">
        <h1 className="text-2xl font-bold">{t('share.couldNotOpen')}</h1>
        <Alert tone="error">{state.message}</Alert>
        <Button onClick={() => window.location.reload()}>{t('common.tryAgain')}</Button>
      </Card>
    )
  }
  if (state.kind === 'locked') {
    return (
      <Card aria-labelledby="locked-heading" className="mx-auto max-w-md space-y-4">
        <h1 id="locked-heading" className="text-2xl font-bold">
          {t('share.passwordRequired')}
        </h1>
        <p className="text-slate-700 dark:text-slate-300">{t('share.protected', { when: formatExpiry(state.meta.expiresAt) })}</p>
        <form onSubmit={unlock} className="space-y-4">
          <Field>
            <Label className="text-sm font-semibold">{t('share.password')}</Label>
            <Input
              type="password"
              name="password"
              autoComplete="current-password"
              autoFocus
              value={password}
              invalid={passwordError !== null}
              onChange={(e) => setPassword(e.target.value)}
              className="mt-1 block min-h-11 w-full rounded-xl border border-slate-300 bg-white px-3 text-base text-slate-900 focus:outline-none data-[focus]:outline-2 data-[focus]:outline-indigo-500 data-[invalid]:border-red-600 dark:border-slate-600 dark:bg-slate-800 dark:text-slate-100"
            />
          </Field>
          {passwordError && <Alert tone="error">{passwordError}</Alert>}
          <Button type="submit" disabled={unlocking || !password} className="w-full">
            {unlocking ? t('share.checking') : t('share.unlock')}
          </Button>
        </form>
      </Card>
    )
  }

  const { meta, files } = state
  if (meta.kind === 'text') {
    return (
      <TextShare
        meta={meta}
        reveal={async () => {
          const got = await cloudApi.revealText(id, state.password)
          if (!('text' in got)) throw new Error(t('share.textUnavailable'))
          return got
        }}
      />
    )
  }
  const total = files.reduce((n, f) => n + f.size, 0)
  const exhausted = meta.downloadsLeft === 0 && lease === null
  const folders = files.some((f) => f.path)
  const togglePreview = (fileId: string) => setPreviewing((p) => (p.includes(fileId) ? p.filter((x) => x !== fileId) : [...p, fileId]))
  return (
    <Card aria-labelledby="share-heading" className="mx-auto max-w-2xl space-y-5">
      <div className="space-y-1">
        <h1 id="share-heading" className="text-2xl font-bold">
          {t('share.heading', { count: files.length })}
        </h1>
        <p className="text-sm text-slate-700 dark:text-slate-300">
          {formatBytes(total)} · <span title={formatDateTime(meta.expiresAt)}>{t('common.expires', { when: formatExpiry(meta.expiresAt) })}</span>
          {' · '}
          <span data-testid="downloads-left">
            {meta.downloadsLeft === null || meta.downloadsLeft === undefined
              ? t('share.unlimitedDownloads')
              : lease !== null
                ? t('share.leftAfterYours', { count: meta.downloadsLeft })
                : t('share.left', { count: meta.downloadsLeft })}
          </span>
          {typeof meta.maxDownloads === 'number' && files.length > 1 && (
            <span data-testid="download-rule"> · {t('share.oneVisit', { count: files.length })}</span>
          )}
        </p>
      </div>
      {meta.note && <Note text={meta.note} />}
      {directView && <DirectLine view={directView} />}
      {(files.length > 1 || folders) && (
        <div className="flex flex-wrap items-center gap-3">
          <Button onClick={() => void download('all')} disabled={downloading !== null || exhausted} className="w-full sm:w-auto">
            {downloading === 'all' ? t('share.preparing') : t('share.downloadAll')}
          </Button>
          <span className="text-sm text-slate-600 dark:text-slate-400">
            {folders ? t('share.oneZipFolders', { size: formatBytes(total) }) : t('share.oneZip', { size: formatBytes(total) })}
            {started.includes('all') ? ` · ${t('share.started')}` : ''}
          </span>
        </div>
      )}
      <FileTree
        label={t('share.sharedFiles')}
        items={files.map((f) => ({ ...f, key: f.id }))}
        row={(f) => (
          <div className="space-y-3 p-3">
            <div className="flex flex-col gap-3 sm:flex-row sm:items-center">
              <div className="min-w-0 flex-1">
                <p className="break-words font-medium" data-testid="file-name">
                  {f.name}
                </p>
                <p className="text-sm text-slate-600 dark:text-slate-400">
                  {formatBytes(f.size)}
                  {started.includes(f.id) ? ` · ${t('share.started')}` : ''}
                </p>
              </div>
              <div className="flex gap-2">
                {previewable(f, meta) && (
                  <Button
                    variant="secondary"
                    onClick={() => togglePreview(f.id)}
                    aria-expanded={previewing.includes(f.id)}
                    aria-label={previewing.includes(f.id) ? t('share.hidePreviewOf', { name: f.name }) : t('share.previewOf', { name: f.name })}
                    className="flex-1 sm:flex-none"
                  >
                    {previewing.includes(f.id) ? t('share.hidePreview') : t('share.preview')}
                  </Button>
                )}
                <Button
                  onClick={() => void download(f)}
                  disabled={downloading !== null || exhausted}
                  aria-label={t('share.downloadOf', { name: f.name })}
                  className="flex-1 sm:flex-none"
                >
                  {downloading === f.id ? t('share.preparing') : t('share.download')}
                </Button>
              </div>
            </div>
            {previewing.includes(f.id) && <FilePreview shareId={id} file={f} password={state.password} />}
          </div>
        )}
      />
      {downloadError && <Alert tone="error">{downloadError}</Alert>}
      <p className="text-xs text-slate-600 dark:text-slate-400">
        {t('share.trust')}
      </p>
    </Card>
  )
}
