import type { FileRequestView, ReceivedUpload, UploadResponse } from '@sharesync/protocol'
import type { TFunction } from 'i18next'
import { useCallback, useEffect, useState, type FormEvent } from 'react'
import { useTranslation } from 'react-i18next'
import { Link } from 'react-router-dom'
import { Alert } from '../../components/alert'
import { Button, buttonClass } from '../../components/button'
import { Card } from '../../components/card'
import { CopyButton } from '../../components/copy-button'
import { usePageTitle } from '../../components/page-title'
import { errorMessage } from '../../lib/api'
import { formatBytes, formatDateTime, formatExpiry, formatPeriod } from '../../lib/format'
import { usePublicConfig } from '../../lib/use-public-config'
import { inputClass } from '../admin/admin-parts'
import { SignedInGate, SignInLink } from '../auth/signed-in-gate'
import { requestsApi } from './requests-api'

const MB = 1_000_000

/** Route /me/requests: ask people to send you files — make request links, see what arrived, turn it into a share. */
export function MyRequestsPage() {
  const { t } = useTranslation()
  usePageTitle(t('requests.title'))
  return (
    <SignedInGate title={t('requests.title')} why={t('requests.signInHelp')} action={<SignInLink returnTo="/me/requests" label={t('requests.signIn')} />}>
      {() => <Requests />}
    </SignedInGate>
  )
}

function Requests() {
  const { t } = useTranslation()
  const [requests, setRequests] = useState<FileRequestView[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  const load = useCallback(async () => {
    try {
      setRequests(await requestsApi.list())
      setError(null)
    } catch (err) {
      setError(errorMessage(err))
    }
  }, [])
  useEffect(() => {
    void load()
  }, [load])

  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <h1 className="text-2xl font-bold">{t('requests.title')}</h1>
        <Link to="/me" className={buttonClass('secondary')}>
          {t('requests.myShares')}
        </Link>
      </div>
      <p className="text-slate-700 dark:text-slate-300">{t('requests.intro')}</p>
      {error && <Alert tone="error">{error}</Alert>}
      <CreateForm onCreated={() => void load()} onError={setError} />
      {requests === null && !error && <p className="text-slate-600 dark:text-slate-400">{t('requests.loadingList')}</p>}
      {requests !== null && requests.length === 0 && <p className="text-slate-600 dark:text-slate-400">{t('requests.none')}</p>}
      {requests !== null && requests.length > 0 && (
        <ul className="space-y-4" aria-label={t('requests.listLabel')}>
          {requests.map((r) => (
            <RequestCard key={r.id} request={r} onChanged={() => void load()} onError={setError} />
          ))}
        </ul>
      )}
    </div>
  )
}

function CreateForm({ onCreated, onError }: { onCreated: () => void; onError: (m: string) => void }) {
  const { t } = useTranslation()
  const { config } = usePublicConfig()
  const choices = config?.expiryChoices ?? []
  const [title, setTitle] = useState('')
  const [message, setMessage] = useState('')
  const [maxMb, setMaxMb] = useState('')
  const [maxFiles, setMaxFiles] = useState('')
  const [maxUses, setMaxUses] = useState('')
  const [types, setTypes] = useState('')
  const [expiresIn, setExpiresIn] = useState<number | null>(null)
  const [password, setPassword] = useState('')
  const [busy, setBusy] = useState(false)
  const expiry = expiresIn ?? choices.find((c) => c === 7 * 86_400) ?? choices[choices.length - 1] ?? null

  async function submit(e: FormEvent) {
    e.preventDefault()
    setBusy(true)
    const count = (v: string) => (v.trim() === '' ? null : Math.floor(Number(v)))
    try {
      await requestsApi.create({
        title: title.trim(),
        ...(message.trim() ? { message: message.trim() } : {}),
        maxBytes: maxMb.trim() === '' ? null : Math.round(Number(maxMb) * MB),
        maxFiles: count(maxFiles),
        maxUses: count(maxUses),
        allowedTypes: types
          .split(/[,\s]+/)
          .map((x) => x.trim())
          .filter(Boolean),
        ...(expiry !== null ? { expiresIn: expiry } : {}),
        ...(password ? { password } : {}),
      })
      setTitle('')
      setMessage('')
      setPassword('')
      onCreated()
    } catch (err) {
      onError(errorMessage(err))
    } finally {
      setBusy(false)
    }
  }

  const field = 'block space-y-1 text-sm'
  return (
    <Card className="space-y-3" aria-labelledby="new-request-heading">
      <h2 id="new-request-heading" className="text-lg font-semibold">
        {t('requests.new')}
      </h2>
      <form onSubmit={(e) => void submit(e)} className="grid gap-3 sm:grid-cols-2">
        <label className={`${field} sm:col-span-2`}>
          <span className="font-medium">{t('requests.fieldTitle')}</span>
          <input
            className={inputClass}
            required
            maxLength={200}
            placeholder={t('requests.titlePlaceholder')}
            value={title}
            onChange={(e) => setTitle(e.target.value)}
          />
        </label>
        <label className={`${field} sm:col-span-2`}>
          <span className="font-medium">{t('requests.fieldMessage')}</span>
          <textarea className={inputClass} maxLength={2000} rows={2} value={message} onChange={(e) => setMessage(e.target.value)} />
        </label>
        <label className={field}>
          <span className="font-medium">{t('requests.fieldMaxMb')}</span>
          <input
            className={inputClass}
            type="number"
            min={0.001}
            step="any"
            inputMode="decimal"
            value={maxMb}
            onChange={(e) => setMaxMb(e.target.value)}
          />
        </label>
        <label className={field}>
          <span className="font-medium">{t('requests.fieldMaxFiles')}</span>
          <input className={inputClass} type="number" min={1} step={1} value={maxFiles} onChange={(e) => setMaxFiles(e.target.value)} />
        </label>
        <label className={field}>
          <span className="font-medium">{t('requests.fieldMaxUses')}</span>
          <input className={inputClass} type="number" min={1} step={1} value={maxUses} onChange={(e) => setMaxUses(e.target.value)} />
        </label>
        <label className={field}>
          <span className="font-medium">{t('requests.fieldTypes')}</span>
          <input
            className={inputClass}
            placeholder={t('requests.typesPlaceholder')}
            value={types}
            onChange={(e) => setTypes(e.target.value)}
          />
        </label>
        <label className={field}>
          <span className="font-medium">{t('requests.fieldOpenFor')}</span>
          <select className={inputClass} value={expiry ?? ''} onChange={(e) => setExpiresIn(Number(e.target.value))}>
            {choices.map((c) => (
              <option key={c} value={c}>
                {formatPeriod(c)}
              </option>
            ))}
          </select>
        </label>
        <label className={field}>
          <span className="font-medium">{t('requests.fieldPassword')}</span>
          <input
            className={inputClass}
            type="password"
            autoComplete="new-password"
            maxLength={256}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        <div className="sm:col-span-2">
          <Button type="submit" disabled={busy || title.trim() === ''}>
            {t('requests.make')}
          </Button>
        </div>
      </form>
    </Card>
  )
}

function limitsText(r: FileRequestView, t: TFunction): string {
  const parts = [
    r.maxBytes !== null
      ? t('common.sizeOf', { done: formatBytes(r.usedBytes), total: formatBytes(r.maxBytes) })
      : t('requests.receivedBytes', { size: formatBytes(r.usedBytes) }),
    r.maxFiles !== null
      ? t('requests.filesUsedOf', { used: r.usedFiles, max: r.maxFiles })
      : t('requests.filesUsed', { used: r.usedFiles }),
    r.maxUses !== null ? t('requests.usesUsedOf', { used: r.uses, max: r.maxUses }) : t('requests.usesUsed', { used: r.uses }),
  ]
  if (r.allowedTypes.length) parts.push(t('requests.types', { list: r.allowedTypes.join(', ') }))
  if (r.passwordProtected) parts.push(t('requests.withPassword'))
  return parts.join(' · ')
}

const STATUS_KEYS = {
  open: 'requests.statusOpen',
  expired: 'requests.statusExpired',
  used_up: 'requests.statusUsedUp',
  closed: 'requests.statusClosed',
} as const

function RequestCard({
  request: r,
  onChanged,
  onError,
}: {
  request: FileRequestView
  onChanged: () => void
  onError: (m: string) => void
}) {
  const { t } = useTranslation()
  const close = async () => {
    if (!window.confirm(t('requests.confirmClose', { title: r.title }))) return
    try {
      await requestsApi.close(r.id)
      onChanged()
    } catch (err) {
      onError(errorMessage(err))
    }
  }
  const when =
    r.status === 'open'
      ? t('requests.closes', { when: formatExpiry(r.expiresAt) })
      : t('requests.made', { when: formatDateTime(r.createdAt) })
  return (
    <li id={r.id}>
      <Card className="space-y-3" aria-label={t('requests.cardLabel', { title: r.title })}>
        <div className="flex flex-wrap items-start justify-between gap-2">
          <div className="min-w-0">
            <h2 className="text-lg font-semibold break-words">{r.title}</h2>
            <p className="text-sm text-slate-600 dark:text-slate-400">{[t(STATUS_KEYS[r.status]), when, limitsText(r, t)].join(' · ')}</p>
          </div>
          {r.status === 'open' && (
            <Button variant="secondary" onClick={() => void close()}>
              {t('requests.close')}
              <span className="sr-only"> {r.title}</span>
            </Button>
          )}
        </div>
        {r.status === 'open' && (
          <div className="flex flex-wrap items-center gap-2">
            <code className="min-w-0 break-all rounded bg-slate-100 px-2 py-1 text-sm dark:bg-slate-800" data-testid="request-url">
              {r.url}
            </code>
            <CopyButton text={r.url} variant="secondary" />
          </div>
        )}
        {r.uploads.length === 0 ? (
          <p className="text-sm text-slate-600 dark:text-slate-400">{t('requests.nothingYet')}</p>
        ) : (
          <ul className="divide-y divide-slate-200 dark:divide-slate-700" aria-label={t('requests.arrivedLabel', { title: r.title })}>
            {r.uploads.map((u) => (
              <Received key={u.id} requestId={r.id} upload={u} onChanged={onChanged} onError={onError} />
            ))}
          </ul>
        )}
      </Card>
    </li>
  )
}

function Received({
  requestId,
  upload: u,
  onChanged,
  onError,
}: {
  requestId: string
  upload: ReceivedUpload
  onChanged: () => void
  onError: (m: string) => void
}) {
  const { t } = useTranslation()
  const [shared, setShared] = useState<UploadResponse | null>(null)
  const [busy, setBusy] = useState(false)
  const names = u.files.map((f) => (f.path ? `${f.path}/${f.name}` : f.name))
  const makeShare = async () => {
    setBusy(true)
    try {
      setShared(await requestsApi.toShare(requestId, u.id, {}))
    } catch (err) {
      onError(errorMessage(err))
    } finally {
      setBusy(false)
    }
  }
  const remove = async () => {
    if (!window.confirm(t('requests.confirmRemove'))) return
    try {
      await requestsApi.removeUpload(requestId, u.id)
      onChanged()
    } catch (err) {
      onError(errorMessage(err))
    }
  }
  const state =
    u.status === 'received' && u.receivedAt ? t('requests.arrived', { when: formatDateTime(u.receivedAt) }) : t('requests.arriving')
  return (
    <li className="space-y-2 py-3" data-testid="received-upload">
      <div className="flex flex-wrap items-start justify-between gap-2">
        <div className="min-w-0">
          <ul className="text-sm font-medium">
            {names.map((n, i) => (
              <li key={i} className="break-all">
                {n}
              </li>
            ))}
          </ul>
          <p className="text-xs text-slate-600 dark:text-slate-400">{`${formatBytes(u.totalSize)} · ${state}`}</p>
        </div>
        {u.status === 'received' && !shared && (
          <div className="flex flex-wrap gap-2">
            <Button onClick={() => void makeShare()} disabled={busy}>
              {t('requests.makeShare')}
            </Button>
            <Button variant="danger" onClick={() => void remove()}>
              {t('common.remove')}
            </Button>
          </div>
        )}
      </div>
      {shared && (
        <Alert tone="success">
          <span className="block">{t('requests.nowShare')}</span>
          <span className="mt-1 flex flex-wrap items-center gap-2">
            <a className="break-all underline" href={shared.url} data-testid="received-share-url">
              {shared.url}
            </a>
            <CopyButton text={shared.url} variant="secondary" />
          </span>
        </Alert>
      )}
    </li>
  )
}
