import { useTranslation } from 'react-i18next'
import { Alert } from '../../components/alert'
import { Button } from '../../components/button'
import { Card } from '../../components/card'
import { ProgressBar } from '../../components/progress-bar'
import { formatBytes, formatDuration, formatSpeed } from '../../lib/format'
import type { UploadSnapshot } from './upload-engine'

/** Shown for a speed or time left that is not known now (offline, paused, just started): an em dash. */
const UNKNOWN = '—'

/** Total and per-file progress, speed and time left, with cancel (and retry after a failure). */
export function UploadProgress({
  snapshot,
  error,
  onCancel,
  onRetry,
}: {
  snapshot: UploadSnapshot
  error: string | null
  onCancel: () => void
  onRetry?: () => void
}) {
  const { t } = useTranslation()
  // The heading of each upload phase: keys of `upload.phase`.
  const phase = (p: UploadSnapshot['phase']) => t(`upload.phase.${p}`)
  // One number, from the engine: the bar, the text and what screen readers hear never disagree.
  const shown = snapshot.percent
  const failed = Boolean(error) || snapshot.phase === 'failed'
  const heading = failed ? phase('failed') : snapshot.phase === 'retrying' ? (snapshot.message ?? phase('retrying')) : phase(snapshot.phase)
  return (
    <Card aria-labelledby="upload-heading" className="space-y-5">
      <div className="flex flex-wrap items-baseline justify-between gap-2">
        <h1 id="upload-heading" className="text-xl font-bold sm:text-2xl">
          {heading}
        </h1>
        {/* The visible percentage is the announcement: polite, so a screen reader says the latest when it is idle. */}
        <p className="text-3xl font-bold tabular-nums" data-testid="upload-percent" aria-live="polite" aria-atomic="true">
          {snapshot.phase === 'checking' ? '…' : `${shown} %`}
          <span className="sr-only">{snapshot.phase === 'checking' ? '' : ` ${t('upload.uploadedSr')}`}</span>
        </p>
      </div>
      <ProgressBar value={shown} label={t('upload.totalProgress')} />
      <dl className="grid grid-cols-2 gap-3 text-sm sm:grid-cols-3">
        <div>
          <dt className="text-slate-600 dark:text-slate-400">{t('upload.uploaded')}</dt>
          <dd className="font-medium tabular-nums">
            {t('common.sizeOf', { done: formatBytes(snapshot.uploadedBytes), total: formatBytes(snapshot.totalBytes) })}
          </dd>
        </div>
        <div>
          <dt className="text-slate-600 dark:text-slate-400">{t('common.speed')}</dt>
          <dd className="font-medium tabular-nums" data-testid="upload-speed">
            {snapshot.bytesPerSecond > 0 ? formatSpeed(snapshot.bytesPerSecond) : UNKNOWN}
          </dd>
        </div>
        <div>
          <dt className="text-slate-600 dark:text-slate-400">{t('common.timeLeft')}</dt>
          <dd className="font-medium tabular-nums" data-testid="upload-eta">
            {snapshot.secondsLeft !== null && snapshot.phase === 'uploading' ? formatDuration(snapshot.secondsLeft) : UNKNOWN}
          </dd>
        </div>
      </dl>
      {snapshot.resumedBytes > 0 && (
        <p className="text-sm text-slate-700 dark:text-slate-300">
          {t('upload.resumed', { size: formatBytes(snapshot.resumedBytes) })}
        </p>
      )}
      {snapshot.files.length > 1 && (
        <ul className="space-y-3" aria-label={t('common.files')}>
          {snapshot.files.map((f, i) => {
            const p = f.size > 0 ? (f.uploaded / f.size) * 100 : 100
            return (
              <li key={i} className="space-y-1">
                <div className="flex justify-between gap-3 text-sm">
                  <span className="truncate font-medium">{f.name}</span>
                  <span className="shrink-0 tabular-nums text-slate-600 dark:text-slate-400">{Math.floor(p)} %</span>
                </div>
                <ProgressBar value={p} label={t('upload.progressOf', { name: f.name })} size="sm" />
              </li>
            )
          })}
        </ul>
      )}
      {snapshot.files.length === 1 && <p className="truncate text-sm text-slate-700 dark:text-slate-300">{snapshot.files[0]!.name}</p>}
      {failed && (
        <Alert tone="error">
          {error ?? snapshot.message ?? t('upload.stopped')} {t('upload.keptRetry')}
        </Alert>
      )}
      {/* Cancel first: when Retry goes away (the upload runs again), nothing moves under the pointer. */}
      <div className="flex flex-wrap gap-3">
        <Button variant="secondary" onClick={onCancel} disabled={snapshot.phase === 'done'}>
          {t('upload.cancel')}
        </Button>
        {failed && onRetry && <Button onClick={onRetry}>{t('common.retry')}</Button>}
      </div>
    </Card>
  )
}
