import { useTranslation } from 'react-i18next'
import { Alert } from '../../components/alert'
import { ProgressBar } from '../../components/progress-bar'
import { formatBytes } from '../../lib/format'
import type { Sending } from '../cloud/outbox'
import { UploadProgress } from '../cloud/upload-progress'
import type { HostView } from './link-host'
import { receiptPercent, type Receipt } from './receipts'

/**
 * The result page's live part: the cloud copy's background upload, the one line saying how the
 * link is served now, and a receipt per recipient (device, path, progress, done or failed).
 */
export function SendingPanel({ sending, host, onCancel, onRetry }: { sending: Sending | null; host: HostView; onCancel: () => void; onRetry: () => void }) {
  const { t } = useTranslation()
  const cloud = sending?.cloud ?? 'unknown'
  const line = host.hosting ? (cloud === 'off' ? t('link.hostingOnly') : t('link.hosting')) : sending ? t('link.connectingHost') : t('link.notHosting')
  return (
    <div className="space-y-4">
      <p className="text-sm font-medium text-slate-700 dark:text-slate-300" data-testid="host-line" data-hosting={host.hosting ? 'yes' : 'no'}>
        {line}
      </p>
      {host.error && <Alert tone="warning">{host.error}</Alert>}
      <div data-testid="cloud-copy" data-state={cloud}>
        {sending?.snapshot && (cloud === 'uploading' || cloud === 'failed') ? (
          <UploadProgress snapshot={sending.snapshot} error={sending.error} onCancel={onCancel} onRetry={onRetry} />
        ) : cloud === 'failed' ? (
          <Alert tone="error">{sending?.error ?? t('upload.stopped')}</Alert>
        ) : (
          <p className="text-sm text-slate-600 dark:text-slate-400">
            {cloud === 'done' ? t('link.copyStored') : cloud === 'off' ? t('link.noCopy') : cloud === 'uploading' ? t('link.copyUploading') : ''}
          </p>
        )}
      </div>
      {host.receipts.length > 0 && (
        <section aria-labelledby="receipts-heading" className="space-y-2">
          <h2 id="receipts-heading" className="text-lg font-bold">
            {t('link.receipts')}
          </h2>
          <ul className="space-y-3">
            {host.receipts.map((r) => (
              <ReceiptRow key={r.id} receipt={r} />
            ))}
          </ul>
        </section>
      )}
    </div>
  )
}

function ReceiptRow({ receipt: r }: { receipt: Receipt }) {
  const { t } = useTranslation()
  const pct = receiptPercent(r)
  const path = r.path === 'direct' ? t('link.viaDirect') : r.path === 'relay' ? t('link.viaRelay') : t('link.viaCloud')
  const status = r.status === 'done' ? t('link.done') : r.status === 'failed' ? t('link.failed') : `${pct} %`
  return (
    <li className="space-y-1" data-testid="receipt" data-path={r.path} data-status={r.status} data-percent={pct}>
      <div className="flex flex-wrap justify-between gap-3 text-sm">
        <span className="min-w-0 truncate font-medium">
          {r.who} · {path}
        </span>
        <span className="shrink-0 tabular-nums text-slate-600 dark:text-slate-400">
          {t('common.sizeOf', { done: formatBytes(r.bytes), total: formatBytes(r.totalBytes) })} · {status}
        </span>
      </div>
      <ProgressBar value={pct} label={t('link.receiptOf', { who: r.who })} size="sm" />
    </li>
  )
}
