import type { MyShare } from '@sharesync/protocol'
import { useCallback, useEffect, useState } from 'react'
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
import { DownloadsView } from '../monitor/downloads-view'
import { authApi, signInUrl } from './auth-api'
import { NotificationsCard, ShareNotifySelect } from './notifications-card'
import { useMe } from './use-me'

/** Route /me: the signed-in user's shares — downloads, expiry, change expiry, delete; claim this browser's links. */
export function MySharesPage() {
  usePageTitle('My shares')
  const me = useMe()
  const { config } = usePublicConfig()

  if (me.status === 'loading') return <p className="text-slate-600 dark:text-slate-400">Loading…</p>
  if (me.status === 'error') return <Alert tone="error">Could not reach the server. Check your connection and reload.</Alert>
  if (!me.me) {
    return (
      <Card className="space-y-4">
        <h1 className="text-2xl font-bold">My shares</h1>
        <p>Sign in to see the links you created, how often they were downloaded, and to delete them or change when they expire.</p>
        {config?.auth.google ? (
          <a href={signInUrl('/me')} className={buttonClass('primary')}>
            Sign in with Google
          </a>
        ) : (
          <p className="text-sm text-slate-600 dark:text-slate-400">Sign-in is not configured on this server.</p>
        )}
      </Card>
    )
  }
  return <SignedInShares maxExpiry={config?.limits.user.maxExpiry ?? null} choices={config?.expiryChoices ?? []} />
}

function SignedInShares({ maxExpiry, choices }: { maxExpiry: number | null; choices: number[] }) {
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
      setNotice(claimed.length === 1 ? '1 link was added to your account.' : `${claimed.length} links were added to your account.`)
      await load()
    } catch (err) {
      setError(errorMessage(err))
    }
  }

  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <h1 className="text-2xl font-bold">My shares</h1>
        <div className="flex flex-wrap gap-3">
          <Link to="/me/requests" className={buttonClass('secondary')}>
            File requests
          </Link>
          <Link to="/" className={buttonClass('primary')}>
            New link
          </Link>
        </div>
      </div>
      {error && <Alert tone="error">{error}</Alert>}
      {notice && <Alert tone="success">{notice}</Alert>}
      {local.length > 0 && (
        <Card className="flex flex-wrap items-center justify-between gap-3">
          <p className="text-sm">
            {local.length === 1 ? '1 link' : `${local.length} links`} created in this browser before you signed in{' '}
            {local.length === 1 ? 'is' : 'are'} not in your account yet.
          </p>
          <Button variant="secondary" onClick={() => void claim()}>
            Add to my shares
          </Button>
        </Card>
      )}
      <Card aria-label="Downloads of your shares">
        <DownloadsView scope="account" compact />
      </Card>
      <NotificationsCard />
      {shares === null && !error && <p className="text-slate-600 dark:text-slate-400">Loading your shares…</p>}
      {shares !== null && shares.length === 0 && (
        <Card>
          <p>You have no shares yet. Links you create while signed in appear here.</p>
        </Card>
      )}
      {shares !== null && shares.length > 0 && (
        <ul aria-label="My shares" className="space-y-3">
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

const STATUS_LABEL: Record<MyShare['status'], string> = {
  ready: 'Active',
  uploading: 'Uploading',
  expired: 'Expired',
  exhausted: 'Download limit reached',
}

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
  const [confirming, setConfirming] = useState(false)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  // An encrypted share's names are known only to the sender's and recipients' browsers.
  const title = share.encrypted ? `Encrypted · ${share.fileCount} ${share.fileCount === 1 ? 'file' : 'files'}` : (share.names[0] ?? 'Files')
  const more = !share.encrypted && share.names.length > 1 ? ` and ${share.names.length - 1} more` : ''
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
            {share.source === 'library' ? 'Library link · ' : ''}
            {STATUS_LABEL[share.status]}
          </span>
        </div>
        <dl className="grid grid-cols-2 gap-x-4 gap-y-1 text-sm sm:grid-cols-4">
          <div>
            <dt className="text-slate-600 dark:text-slate-400">Size</dt>
            <dd>{formatBytes(share.size)}</dd>
          </div>
          <div>
            <dt className="text-slate-600 dark:text-slate-400">Downloads</dt>
            <dd>
              {share.downloads}
              {share.maxDownloads !== null ? ` of ${share.maxDownloads}` : ''}
            </dd>
          </div>
          <div>
            <dt className="text-slate-600 dark:text-slate-400">Expires</dt>
            <dd title={formatDateTime(share.expiresAt)}>{formatExpiry(share.expiresAt)}</dd>
          </div>
          <div>
            <dt className="text-slate-600 dark:text-slate-400">Password</dt>
            <dd>{share.passwordProtected ? 'Yes' : 'No'}</dd>
          </div>
        </dl>
        {error && <Alert tone="error">{error}</Alert>}
        <div className="flex flex-wrap items-center gap-2">
          {share.status === 'ready' && <CopyButton text={share.url} variant="secondary" />}
          {live && fitting.length > 0 && (
            <label className="flex items-center gap-2 text-sm">
              <span>Expire in</span>
              <select
                className="min-h-11 rounded-xl border border-slate-300 bg-white px-2 dark:border-slate-600 dark:bg-slate-800"
                disabled={busy}
                value=""
                onChange={(e) => {
                  const seconds = Number(e.target.value)
                  if (seconds > 0) void run(async () => onChanged(await authApi.changeExpiry(share.id, { expiresIn: seconds })))
                }}
              >
                <option value="">change…</option>
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
                Delete for good
              </Button>
              <Button variant="ghost" disabled={busy} onClick={() => setConfirming(false)}>
                Keep it
              </Button>
            </>
          ) : (
            <Button variant="ghost" onClick={() => setConfirming(true)}>
              Delete
            </Button>
          )}
        </div>
      </Card>
    </li>
  )
}
