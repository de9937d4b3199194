import type { MyShare } from '@sharesync/protocol'
import { useCallback, useEffect, useState } from 'react'
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
import { ownedLinks } from '../cloud/upload-records'
import { useShareRules } from '../cloud/use-viewer-limits'
import { DownloadsView } from '../monitor/downloads-view'
import { authApi } from './auth-api'
import { NotificationsCard, ShareNotifySelect } from './notifications-card'
import { SignedInGate, SignInLink } from './signed-in-gate'

/** Route /me: the signed-in user's shares — downloads, expiry, change expiry, delete; claim this browser's links. */
export function MySharesPage() {
  const { t } = useTranslation()
  usePageTitle(t('auth.myShares'))
  const { config } = usePublicConfig()
  const rules = useShareRules(config)
  // The admin's allowed expiry presets, when set, are the only choices, and the longest is the end.
  const presets = rules?.expiryPresets ?? null
  const userMax = config?.limits.user.maxExpiry ?? null
  const maxExpiry = userMax !== null && presets ? Math.min(userMax, Math.max(...presets)) : userMax
  return (
    <SignedInGate title={t('auth.myShares')} why={t('myShares.signInToSee')} action={<SignInLink returnTo="/me" label={t('auth.signInGoogle')} />}>
      {() => <SignedInShares maxExpiry={maxExpiry} choices={presets ?? config?.expiryChoices ?? []} />}
    </SignedInGate>
  )
}

function SignedInShares({ maxExpiry, choices }: { maxExpiry: number | null; choices: number[] }) {
  const { t } = useTranslation()
  const [shares, setShares] = useState<MyShare[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [notice, setNotice] = useState<string | null>(null)

  const load = useCallback(async () => {
    try {
      setShares(await authApi.myShares())
      setError(null)
    } catch (err) {
      setError(errorMessage(err))
    }
  }, [])
  useEffect(() => {
    void load()
  }, [load])

  // Links this browser created (owner tokens in localStorage) that are not in the account yet.
  const local = ownedLinks.all().filter((l) => shares !== null && !shares.some((s) => s.id === l.id))

  const claim = async () => {
    try {
      const { claimed } = await authApi.claim(local.map((l) => ({ id: l.id, ownerToken: l.ownerToken })))
      setNotice(t('myShares.claimed', { count: claimed.length }))
      await load()
    } catch (err) {
      setError(errorMessage(err))
    }
  }

  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <h1 className="text-2xl font-bold">{t('auth.myShares')}</h1>
        <div className="flex flex-wrap gap-3">
          <Link to="/me/requests" className={buttonClass('secondary')}>
            {t('requests.title')}
          </Link>
          <Link to="/" className={buttonClass('primary')}>
            {t('myShares.newLink')}
          </Link>
        </div>
      </div>
      {error && <Alert tone="error">{error}</Alert>}
      {notice && <Alert tone="success">{notice}</Alert>}
      {local.length > 0 && (
        <Card className="flex flex-wrap items-center justify-between gap-3">
          <p className="text-sm">
            {t('myShares.localLinks', { count: local.length })}
          </p>
          <Button variant="secondary" onClick={() => void claim()}>
            {t('myShares.addToMine')}
          </Button>
        </Card>
      )}
      <Card aria-label={t('myShares.downloadsOfYours')}>
        <DownloadsView scope="account" compact />
      </Card>
      <NotificationsCard />
      {shares === null && !error && <p className="text-slate-600 dark:text-slate-400">{t('myShares.loading')}</p>}
      {shares !== null && shares.length === 0 && (
        <Card>
          <p>{t('myShares.none')}</p>
        </Card>
      )}
      {shares !== null && shares.length > 0 && (
        <ul aria-label={t('auth.myShares')} className="space-y-3">
          {shares.map((s) => (
            <ShareRow
              key={s.id}
              share={s}
              maxExpiry={maxExpiry}
              choices={choices}
              onChanged={(next) => setShares((all) => all?.map((x) => (x.id === next.id ? next : x)) ?? null)}
              onDeleted={() => setShares((all) => all?.filter((x) => x.id !== s.id) ?? null)}
            />
          ))}
        </ul>
      )}
    </div>
  )
}

// A share's status in words: keys `myShares.status.*`.

function ShareRow({
  share,
  maxExpiry,
  choices,
  onChanged,
  onDeleted,
}: {
  share: MyShare
  maxExpiry: number | null
  choices: number[]
  onChanged: (s: MyShare) => void
  onDeleted: () => void
}) {
  const { t } = useTranslation()
  const [confirming, setConfirming] = useState(false)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  // An encrypted share's names are known only to the sender's and recipients' browsers.
  const title = share.encrypted ? `${t('admin.encrypted')} · ${t('common.fileCount', { count: share.fileCount })}` : (share.names[0] ?? t('common.files'))
  const more = !share.encrypted && share.names.length > 1 ? ` ${t('common.andMore', { count: share.names.length - 1 })}` : ''
  // Expiry may be moved up to MAX_EXPIRY after creation: offer the choices that still fit.
  const latest = maxExpiry === null ? Infinity : Date.parse(share.createdAt) + maxExpiry * 1000
  const fitting = choices.filter((c) => Date.now() + c * 1000 <= latest)
  const live = share.status === 'ready' || share.status === 'uploading'

  const run = async (work: () => Promise<void>) => {
    setBusy(true)
    setError(null)
    try {
      await work()
    } catch (err) {
      setError(errorMessage(err))
    } finally {
      setBusy(false)
    }
  }

  return (
    <li>
      <Card className="space-y-3" aria-label={`${title}${more}`}>
        <div className="flex flex-wrap items-baseline justify-between gap-2">
          <h2 className="min-w-0 truncate text-lg font-semibold">
            {title}
            {more && <span className="font-normal text-slate-600 dark:text-slate-400">{more}</span>}
          </h2>
          <span className="text-sm text-slate-600 dark:text-slate-400">
            {share.source === 'library' ? `${t('myShares.libraryLink')} · ` : ''}
            {t(`myShares.status.${share.status}`)}
          </span>
        </div>
        <dl className="grid grid-cols-2 gap-x-4 gap-y-1 text-sm sm:grid-cols-4">
          <div>
            <dt className="text-slate-600 dark:text-slate-400">{t('admin.size')}</dt>
            <dd>{formatBytes(share.size)}</dd>
          </div>
          <div>
            <dt className="text-slate-600 dark:text-slate-400">{t('admin.downloads')}</dt>
            <dd>
              {share.maxDownloads !== null ? t('myShares.downloadsOf', { count: share.downloads, max: share.maxDownloads }) : share.downloads}
            </dd>
          </div>
          <div>
            <dt className="text-slate-600 dark:text-slate-400">{t('result.expires')}</dt>
            <dd title={formatDateTime(share.expiresAt)}>{formatExpiry(share.expiresAt)}</dd>
          </div>
          <div>
            <dt className="text-slate-600 dark:text-slate-400">{t('share.password')}</dt>
            <dd>{share.passwordProtected ? t('myShares.yes') : t('admin.no')}</dd>
          </div>
        </dl>
        {error && <Alert tone="error">{error}</Alert>}
        <div className="flex flex-wrap items-center gap-2">
          {share.status === 'ready' && <CopyButton text={share.url} variant="secondary" />}
          {live && fitting.length > 0 && (
            <label className="flex items-center gap-2 text-sm">
              <span>{t('myShares.expireIn')}</span>
              <select
                className="min-h-11 rounded-xl border border-slate-300 bg-white px-2 dark:border-slate-600 dark:bg-slate-800"
                disabled={busy}
                value=""
                onChange={(e) => {
                  const seconds = Number(e.target.value)
                  if (seconds > 0) void run(async () => onChanged(await authApi.changeExpiry(share.id, { expiresIn: seconds })))
                }}
              >
                <option value="">{t('myShares.change')}</option>
                {fitting.map((c) => (
                  <option key={c} value={c}>
                    {formatPeriod(c)}
                  </option>
                ))}
              </select>
            </label>
          )}
          {live && <ShareNotifySelect shareId={share.id} limited={share.maxDownloads !== null} />}
          {confirming ? (
            <>
              <Button
                variant="danger"
                disabled={busy}
                onClick={() =>
                  void run(async () => {
                    await authApi.deleteShare(share.id)
                    ownedLinks.remove(share.id)
                    onDeleted()
                  })
                }
              >
                {t('myShares.deleteForGood')}
              </Button>
              <Button variant="ghost" disabled={busy} onClick={() => setConfirming(false)}>
                {t('result.keepIt')}
              </Button>
            </>
          ) : (
            <Button variant="ghost" onClick={() => setConfirming(true)}>
              {t('common.delete')}
            </Button>
          )}
        </div>
      </Card>
    </li>
  )
}
