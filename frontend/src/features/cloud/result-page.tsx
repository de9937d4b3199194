import { Dialog, DialogPanel, DialogTitle, Description } from '@headlessui/react'
import type { ShareDelivery, ShareMetadata } from '@sharesync/protocol'
import { useEffect, useMemo, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { Link, useLocation, useNavigate, useParams } from 'react-router-dom'
import { Alert } from '../../components/alert'
import { Button, ButtonLink } from '../../components/button'
import { Card } from '../../components/card'
import { CopyButton } from '../../components/copy-button'
import { usePageTitle } from '../../components/page-title'
import { QrCode } from '../../components/qr-code'
import { ApiError, errorMessage } from '../../lib/api'
import { canShareNatively } from '../../lib/features'
import { formatBytes, formatDateTime, formatExpiry } from '../../lib/format'
import { cloudApi } from './cloud-api'
import { keyStore } from './encryption/key-store'
import { linkWithKey } from './encryption/seal-upload'
import { ownedLinks, pendingUploads } from './upload-records'
import { outbox, useSending } from './outbox'
import { useLeaveGuard } from '../../lib/use-leave-guard'
import { SendingPanel } from '../link/sending-panel'
import { useLinkHost } from '../link/use-link'
import type { HostedFile } from '../link/link-host'

/** The link just created: copy, QR code, native share sheet, expiry, downloads left, delete. */
export function ResultPage() {
  const { t } = useTranslation()
  const { id = '' } = useParams()
  const navigate = useNavigate()
  const [link] = useState(() => ownedLinks.get(id))
  const location = useLocation()
  // An encrypted link's key: handed over by the upload in memory, else from this browser's IndexedDB.
  const [token, setToken] = useState<string | null | undefined>(() => (location.state as { token?: string } | null)?.token)
  const [meta, setMeta] = useState<ShareMetadata | null>(null)
  const [gone, setGone] = useState(false)
  // The link no longer opens for recipients: what became of it, as its owner's browser can still ask.
  const [ended, setEnded] = useState<ShareDelivery | null>(null)
  const [confirming, setConfirming] = useState(false)
  const [deleting, setDeleting] = useState(false)
  const [error, setError] = useState<string | null>(null)
  // The link as this page sends it: its files (served directly while the page is open) and its cloud copy.
  const sending = useSending(id)
  // The tab says so while the cloud copy uploads (and the guard asks before a reload or close).
  usePageTitle(sending?.cloud === 'uploading' ? t('home.titleUploading') : t('result.pageTitle'))
  const hosted = useMemo<HostedFile[] | null>(() => {
    if (!sending || sending.files.some((f) => f.file === null)) return null
    return sending.files.map((f) => ({ fileId: f.fileId, file: f.file! }))
  }, [sending])
  const host = useLinkHost(id, link?.ownerToken, hosted)
  useLeaveGuard(sending?.cloud === 'uploading')

  // Asked again once this page's upload ends: before that, a link without direct serving is not
  // visible yet (and a 404 then means nothing).
  const uploading = sending?.cloud === 'uploading'
  // Reloaded in the middle of its upload: the files must be picked again, which the home page offers.
  const interrupted = !sending && pendingUploads.get()?.shareId === id
  useEffect(() => {
    if (interrupted) void navigate('/', { replace: true })
  }, [interrupted, navigate])
  useEffect(() => {
    if (!link || interrupted) return
    let live = true
    cloudApi.getShare(id).then(
      (m) => live && setMeta(m),
      (err: unknown) => {
        if (!live || uploading) return
        if (!(err instanceof ApiError && err.status === 404)) return
        cloudApi.uploadState(id, link.ownerToken).then(
          (state) => live && (state.delivery ? setEnded(state.delivery) : setGone(true)),
          () => {
            if (!live) return
            ownedLinks.remove(id)
            setGone(true)
          },
        )
      },
    )
    return () => {
      live = false
    }
  }, [id, link, uploading, interrupted])

  useEffect(() => {
    if (!link?.encrypted || token) return
    let live = true
    keyStore.get(id).then(
      (k) => live && setToken(k?.token ?? null),
      () => live && setToken(null),
    )
    return () => {
      live = false
    }
  }, [id, link, token])

  async function removeEnded() {
    if (link) await cloudApi.deleteShare(id, link.ownerToken).catch(() => undefined)
    ownedLinks.remove(id)
    void keyStore.remove(id)
    await navigate('/', { replace: true })
  }

  // On its way to the home page, which offers to resume the upload.
  if (interrupted) return null
  if (!link) {
    return (
      <Card className="mx-auto max-w-lg space-y-4 text-center">
        <h1 className="text-2xl font-bold">{t('result.notInBrowser')}</h1>
        <p className="text-slate-700 dark:text-slate-300">{t('result.notInBrowserText')}</p>
        <ButtonLink to={`/s/${encodeURIComponent(id)}`}>{t('result.openThePage')}</ButtonLink>
      </Card>
    )
  }
  if (ended) return <LinkEnded delivery={ended} onDelete={() => void removeEnded()} />
  if (gone) return <OwnLinkGone />

  // A password share tells nobody (not even its owner's browser, which does not keep the password)
  // how many downloads are left: show the limit instead.
  const knowsLeft = meta?.downloadsLeft !== undefined
  const downloadsLeft = knowsLeft ? meta.downloadsLeft : link.maxDownloads
  // The whole link, key included: what the QR code, the copy button and the share sheet hand out.
  const url = link.encrypted ? (token ? linkWithKey(link.url, token) : token === null ? link.url : '') : link.url
  const keyMissing = link.encrypted === true && token === null
  const shareData = {
    title: 'ShareSync',
    // An encrypted link's names stay out of the message too.
    text:
      link.kind === 'text'
        ? t('result.shareText')
        : link.encrypted
          ? t('result.shareEncrypted')
          : link.files.length === 1
            ? link.files[0]!.name
            : t('common.fileCount', { count: link.files.length }),
    url,
  }

  const cancelUpload = async () => {
    await outbox.cancel(link.id)
    ownedLinks.remove(link.id)
    void keyStore.remove(link.id)
    await cloudApi.deleteShare(link.id, link.ownerToken).catch(() => undefined)
    await navigate('/', { replace: true, state: { cancelled: true } })
  }

  const remove = async () => {
    setDeleting(true)
    outbox.forget(link.id)
    setError(null)
    try {
      await cloudApi.deleteShare(link.id, link.ownerToken)
      ownedLinks.remove(link.id)
      void keyStore.remove(link.id)
      await navigate('/', { replace: true })
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        ownedLinks.remove(link.id)
        await navigate('/', { replace: true })
        return
      }
      setError(errorMessage(err))
      setDeleting(false)
      setConfirming(false)
    }
  }

  return (
    <div className="space-y-6">
      <Card aria-labelledby="result-heading" className="space-y-6">
        <div className="space-y-1">
          <h1 id="result-heading" className="text-2xl font-bold">
            {t('result.heading')}
          </h1>
          <p className="text-slate-700 dark:text-slate-300">
            {t(
              link.kind === 'text'
                ? link.passwordProtected
                  ? 'result.whoTextPassword'
                  : 'result.whoText'
                : link.passwordProtected
                  ? 'result.whoFilesPassword'
                  : 'result.whoFiles',
              { count: link.files.length },
            )}
            {link.encrypted ? ` ${t('result.encryptedNote')}` : ''}
          </p>
        </div>
        {keyMissing && (
          <Alert tone="warning">
            {t('result.keyMissing')}
          </Alert>
        )}
        <div className="flex flex-col items-center gap-6 sm:flex-row sm:items-start">
          <div className="rounded-xl border border-slate-200 bg-white p-2 dark:border-slate-700">
            {url && <QrCode text={url} size={200} label={t('result.qrOf', { url })} />}
          </div>
          <div className="w-full min-w-0 flex-1 space-y-4">
            <div>
              <label htmlFor="share-link" className="text-sm font-semibold">
                {t('result.link')}
              </label>
              <input
                id="share-link"
                readOnly
                value={url}
                onFocus={(e) => e.currentTarget.select()}
                data-testid="share-url"
                className="mt-1 block min-h-11 w-full rounded-xl border border-slate-300 bg-slate-50 px-3 font-mono text-sm text-slate-900 dark:border-slate-600 dark:bg-slate-800 dark:text-slate-100"
              />
            </div>
            <div className="flex flex-wrap gap-3">
              <CopyButton text={url} />
              {canShareNatively(shareData) && (
                <Button variant="secondary" onClick={() => void navigator.share(shareData).catch(() => undefined)}>
                  {t('result.shareNative')}
                </Button>
              )}
              <ButtonLink to={`/s/${encodeURIComponent(link.id)}${link.encrypted && token ? `#${token}` : ''}`} variant="secondary">
                {t('result.openSharePage')}
              </ButtonLink>
            </div>
            <dl className="grid grid-cols-2 gap-3 text-sm">
              <div>
                <dt className="text-slate-600 dark:text-slate-400">{t('result.expires')}</dt>
                <dd className="font-medium" title={formatDateTime(link.expiresAt)} data-testid="result-expiry">
                  {formatExpiry(link.expiresAt)}
                </dd>
              </div>
              <div>
                <dt className="text-slate-600 dark:text-slate-400">
                  {knowsLeft || !link.passwordProtected ? t('result.downloadsLeft') : t('upload.downloadsAllowed')}
                </dt>
                <dd className="font-medium" data-testid="result-downloads">
                  {downloadsLeft === null || downloadsLeft === undefined ? t('upload.unlimited') : downloadsLeft}
                  {link.maxDownloads === 1 ? ` ${t('result.deletedAfter')}` : ''}
                </dd>
              </div>
              {link.passwordProtected && (
                <div className="col-span-2">
                  <dt className="sr-only">{t('result.protection')}</dt>
                  <dd className="font-medium">{t('result.passwordProtected')}</dd>
                </div>
              )}
            </dl>
          </div>
        </div>
        {sending || meta?.direct ? (
          <SendingPanel sending={sending} host={host} onCancel={() => void cancelUpload()} onRetry={() => void outbox.retry(link.id)} />
        ) : (
          // A text, or a link not served directly: nothing uploads here.
          <div hidden data-testid="cloud-copy" data-state="none" />
        )}
        <ul
          className="divide-y divide-slate-200 border-t border-slate-200 pt-2 text-sm dark:divide-slate-700 dark:border-slate-700"
          aria-label={t('common.files')}
        >
          {link.files.map((f, i) => (
            <li key={i} className="flex justify-between gap-3 py-2">
              <span className="truncate">{f.name}</span>
              <span className="shrink-0 text-slate-600 dark:text-slate-400">{formatBytes(f.size)}</span>
            </li>
          ))}
        </ul>
        {error && <Alert tone="error">{error}</Alert>}
        <div className="flex flex-wrap justify-between gap-3">
          <ButtonLink to="/" variant="secondary">
            {t('result.shareMore')}
          </ButtonLink>
          <Button variant="danger" onClick={() => setConfirming(true)}>
            {t('result.deleteLink')}
          </Button>
        </div>
      </Card>
      <p className="text-center text-sm text-slate-600 dark:text-slate-400">
        {t('result.keyKept')}{' '}
        <Link className="underline" to="/">
          {t('result.allLinks')}
        </Link>
      </p>

      <Dialog open={confirming} onClose={() => !deleting && setConfirming(false)} className="relative z-50">
        <div className="fixed inset-0 bg-slate-950/50" aria-hidden="true" />
        <div className="fixed inset-0 flex items-end justify-center p-4 sm:items-center">
          <DialogPanel className="w-full max-w-md space-y-4 rounded-2xl bg-white p-6 shadow-xl dark:bg-slate-900">
            <DialogTitle className="text-lg font-bold">{t('result.confirmTitle')}</DialogTitle>
            <Description className="text-slate-700 dark:text-slate-300">{t('result.confirmText')}</Description>
            <div className="flex flex-wrap justify-end gap-3">
              <Button variant="secondary" onClick={() => setConfirming(false)} disabled={deleting}>
                {t('result.keepIt')}
              </Button>
              <Button variant="danger" onClick={() => void remove()} disabled={deleting}>
                {deleting ? t('common.deleting') : t('common.delete')}
              </Button>
            </div>
          </DialogPanel>
        </div>
      </Dialog>
    </div>
  )
}

/** The owner's view of a link recipients can no longer open: collected, or past its expiry. */
function LinkEnded({ delivery, onDelete }: { delivery: ShareDelivery; onDelete: () => void }) {
  const { t } = useTranslation()
  usePageTitle(delivery.usedUp ? t('result.wasDownloaded') : t('result.hasExpired'))
  const when = delivery.lastDownloadAt ? formatDateTime(delivery.lastDownloadAt) : null
  return (
    <Card aria-labelledby="ended-heading" className="mx-auto max-w-lg space-y-4 text-center" data-testid="link-ended">
      <h1 id="ended-heading" className="text-2xl font-bold">
        {delivery.usedUp ? t('result.wasDownloaded') : t('result.hasExpired')}
      </h1>
      <p className="text-slate-700 dark:text-slate-300" data-testid="link-ended-text">
        {delivery.usedUp
          ? `${when ? `${t('result.downloadedAt', { when })} ` : ''}${t('result.allowedClosed', { count: delivery.maxDownloads ?? 0 })}`
          : t('result.expiredAfter', { when: formatDateTime(delivery.expiresAt), count: delivery.downloads })}
      </p>
      <p className="text-sm text-slate-600 dark:text-slate-400">{t('result.removedWithinHour')}</p>
      <div className="flex flex-wrap justify-center gap-3">
        <ButtonLink to="/">{t('result.shareMore')}</ButtonLink>
        <Button variant="secondary" onClick={onDelete}>
          {t('result.removeNow')}
        </Button>
      </div>
    </Card>
  )
}

/** The owner's link is gone from the server altogether (expired, used up or deleted, and removed). */
function OwnLinkGone() {
  const { t } = useTranslation()
  usePageTitle(t('result.endedTitle'))
  return (
    <Card aria-labelledby="own-gone-heading" className="mx-auto max-w-lg space-y-4 text-center">
      <h1 id="own-gone-heading" className="text-2xl font-bold">
        {t('result.endedHeading')}
      </h1>
      <p className="text-slate-700 dark:text-slate-300">{t('result.endedText')}</p>
      <ButtonLink to="/">{t('result.shareFiles')}</ButtonLink>
    </Card>
  )
}
