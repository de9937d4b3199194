import { typeAllowed, type PublicFileRequest } from '@sharesync/protocol'
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react'
import { useTranslation } from 'react-i18next'
import { useParams } from 'react-router-dom'
import { Alert } from '../../components/alert'
import { Button } from '../../components/button'
import { Card } from '../../components/card'
import { FilePicker } from '../../components/file-picker'
import { usePageTitle } from '../../components/page-title'
import { ApiError, errorMessage } from '../../lib/api'
import { folderOfFile } from '../../lib/file-paths'
import { formatBytes, formatExpiry } from '../../lib/format'
import { useLeaveGuard } from '../../lib/use-leave-guard'
import { inputClass } from '../admin/admin-parts'
import { UploadProgress } from '../cloud/upload-progress'
import { isCancelled, UploadEngine, type UploadSnapshot } from '../cloud/upload-engine'
import { requestsApi } from './requests-api'

type Load =
  | { state: 'loading' }
  | { state: 'closed'; message: string }
  | { state: 'locked'; title: string; error?: string }
  | { state: 'open'; request: PublicFileRequest }

/** Route /request/:id: someone asked for files — pick them and send them, with the same resumable upload as a share. */
export function RequestUploadPage() {
  const { t } = useTranslation()
  const { id = '' } = useParams()
  const [load, setLoad] = useState<Load>({ state: 'loading' })
  const [password, setPassword] = useState('')
  usePageTitle(load.state === 'open' ? t('requests.pageTitleOf', { title: load.request.title }) : t('requests.pageTitle'))

  const fetchRequest = useCallback(
    async (pw?: string) => {
      try {
        const request = await requestsApi.describe(id, pw)
        // Without the password the server tells only the title.
        setLoad(
          request.passwordRequired && request.message === undefined
            ? { state: 'locked', title: request.title }
            : { state: 'open', request },
        )
      } catch (err) {
        if (err instanceof ApiError && err.code === 'password_invalid') {
          setLoad((l) => ({ state: 'locked', title: l.state === 'locked' ? l.title : '', error: errorMessage(err) }))
        } else {
          setLoad({ state: 'closed', message: errorMessage(err) })
        }
      }
    },
    [id],
  )
  useEffect(() => {
    void fetchRequest()
  }, [fetchRequest])

  if (load.state === 'loading') return <p className="text-slate-600 dark:text-slate-400">{t('common.loading')}</p>
  if (load.state === 'closed') {
    return (
      <Card className="space-y-3">
        <h1 className="text-2xl font-bold">{t('requests.noFiles')}</h1>
        <Alert tone="error">{load.message}</Alert>
      </Card>
    )
  }
  if (load.state === 'locked') {
    const submit = (e: FormEvent) => {
      e.preventDefault()
      void fetchRequest(password)
    }
    return (
      <Card className="space-y-4">
        <h1 className="text-2xl font-bold break-words">{load.title || t('requests.pageTitle')}</h1>
        <p>{t('requests.locked')}</p>
        {load.error && <Alert tone="error">{load.error}</Alert>}
        <form onSubmit={submit} className="flex flex-wrap items-end gap-3">
          <label className="block space-y-1 text-sm">
            <span className="font-medium">{t('requests.password')}</span>
            <input
              className={inputClass}
              type="password"
              autoComplete="off"
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          </label>
          <Button type="submit">{t('requests.open')}</Button>
        </form>
      </Card>
    )
  }
  return <Sender request={load.request} password={password} />
}

/** What the request will refuse, said before anything is sent (the server checks the same again). */
function problemOf(r: PublicFileRequest, files: File[], t: ReturnType<typeof useTranslation>['t']): string | null {
  const total = files.reduce((n, f) => n + f.size, 0)
  if (r.bytesLeft != null && total > r.bytesLeft) return t('requests.tooBig', { size: formatBytes(total), left: formatBytes(r.bytesLeft) })
  if (r.filesLeft != null && files.length > r.filesLeft) {
    return t('requests.tooManyFiles', {
      left: t('common.fileCount', { count: r.filesLeft }),
      chosen: t('common.fileCount', { count: files.length }),
    })
  }
  const types = r.allowedTypes ?? []
  const refused = files.find((f) => !typeAllowed(types, { name: f.name, type: f.type }))
  if (refused) return t('requests.typeRefused', { name: refused.name, list: types.join(', ') })
  if (r.maxFileSize !== undefined) {
    const big = files.find((f) => f.size > r.maxFileSize!)
    if (big) return t('requests.fileTooBig', { name: big.name, max: formatBytes(r.maxFileSize) })
  }
  return null
}

function Sender({ request: r, password }: { request: PublicFileRequest; password: string }) {
  const { t } = useTranslation()
  const [files, setFiles] = useState<File[]>([])
  const [error, setError] = useState<string | null>(null)
  const [snapshot, setSnapshot] = useState<UploadSnapshot | null>(null)
  const [sent, setSent] = useState(false)
  const [busy, setBusy] = useState(false)
  const engine = useRef<UploadEngine | null>(null)
  useLeaveGuard(busy)
  useEffect(() => () => engine.current?.cancel(), [])
  const total = files.reduce((n, f) => n + f.size, 0)
  const problem = files.length > 0 ? problemOf(r, files, t) : null

  const send = async () => {
    setError(null)
    setBusy(true)
    try {
      const created = await requestsApi.startUpload(r.id, {
        files: files.map((f) => ({
          name: f.name,
          size: f.size,
          type: f.type || 'application/octet-stream',
          ...(folderOfFile(f) ? { path: folderOfFile(f) } : {}),
        })),
        ...(password ? { password } : {}),
      })
      const e = new UploadEngine({
        shareId: created.id,
        ownerToken: created.ownerToken ?? '',
        names: files.map((f) => f.name),
        files: created.files.map((f, i) => ({
          fileId: f.id,
          size: files[i]!.size,
          partSize: f.partSize,
          partCount: f.partCount,
          file: files[i]!,
        })),
        onProgress: setSnapshot,
      })
      engine.current = e
      await e.run()
      setSent(true)
    } catch (err) {
      if (!isCancelled(err)) setError(errorMessage(err))
      setSnapshot(null)
    } finally {
      engine.current = null
      setBusy(false)
    }
  }

  if (sent) {
    return (
      <Card className="space-y-3">
        <h1 className="text-2xl font-bold">{t('requests.sentTitle')}</h1>
        <Alert tone="success">
          {t('requests.sent', {
            who: r.requester ?? t('requests.whoUnknown'),
            files: t('common.fileCount', { count: files.length }),
            size: formatBytes(total),
          })}
        </Alert>
      </Card>
    )
  }
  if (snapshot && busy) return <UploadProgress snapshot={snapshot} error={error} onCancel={() => engine.current?.cancel()} />

  const limits = [
    r.bytesLeft != null ? t('requests.upToBytes', { size: formatBytes(r.bytesLeft) }) : null,
    r.filesLeft != null ? t('requests.upToFiles', { files: t('common.fileCount', { count: r.filesLeft }) }) : null,
    r.allowedTypes?.length ? t('requests.onlyTypes', { list: r.allowedTypes.join(', ') }) : null,
    r.expiresAt ? t('requests.openUntil', { when: formatExpiry(r.expiresAt) }) : null,
  ].filter((x): x is string => x !== null)
  return (
    <Card className="space-y-4">
      <div className="space-y-1">
        <h1 className="text-2xl font-bold break-words">{r.title}</h1>
        {r.requester && <p className="text-sm text-slate-600 dark:text-slate-400">{t('requests.asks', { name: r.requester })}</p>}
      </div>
      {r.message && <p className="whitespace-pre-wrap break-words">{r.message}</p>}
      {limits.length > 0 && (
        <p className="text-sm text-slate-700 dark:text-slate-300">{t('requests.accepts', { list: limits.join(', ') })}</p>
      )}
      {(problem ?? error) && <Alert tone="error">{problem ?? error}</Alert>}
      <div className="flex flex-wrap gap-3">
        <FilePicker onFiles={setFiles} accept={r.allowedTypes?.length ? r.allowedTypes.join(',') : undefined} testId="request-file-input">
          {t('common.chooseFiles')}
        </FilePicker>
      </div>
      {files.length > 0 && (
        <>
          <ul className="space-y-1 text-sm" aria-label={t('requests.chosenFiles')}>
            {files.map((f, i) => (
              <li key={i} className="flex justify-between gap-3">
                <span className="truncate">{f.name}</span>
                <span className="shrink-0 tabular-nums text-slate-600 dark:text-slate-400">{formatBytes(f.size)}</span>
              </li>
            ))}
          </ul>
          <Button onClick={() => void send()} disabled={busy || problem !== null}>
            {t('requests.send', { files: t('common.fileCount', { count: files.length }), size: formatBytes(total) })}
          </Button>
        </>
      )}
    </Card>
  )
}
