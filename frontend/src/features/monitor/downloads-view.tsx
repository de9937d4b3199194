import type { MonitoredDownload, Page } from '@sharesync/protocol'
import { useCallback, useEffect, useMemo, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { Alert } from '../../components/alert'
import { Button } from '../../components/button'
import { ProgressBar } from '../../components/progress-bar'
import { errorMessage } from '../../lib/api'
import { formatBytes, formatDateTime, formatSpeed } from '../../lib/format'
import { monitorApi } from './monitor-api'
import { useDownloadsFeed } from './use-downloads-feed'

const HISTORY = 20

// A download's status in words: keys `monitor.status.*`.

/**
 * Active downloads (live, with Stop) and the history of finished ones, for every app-served
 * download (admins) or the owner's own shares (My shares; `shareId` narrows it to one share).
 */
export function DownloadsView({ scope, shareId, compact = false }: { scope: 'admin' | 'account'; shareId?: string; compact?: boolean }) {
  const { t } = useTranslation()
  const api = useMemo(() => monitorApi(scope), [scope])
  const [initial, setInitial] = useState<MonitoredDownload[]>([])
  const [history, setHistory] = useState<Page<MonitoredDownload> | null>(null)
  const [offset, setOffset] = useState(0)
  const [error, setError] = useState<string | null>(null)

  const loadHistory = useCallback(async () => {
    try {
      setHistory(await api.list({ status: 'finished', shareId, limit: HISTORY, offset }))
    } catch (err) {
      setError(errorMessage(err))
    }
  }, [api, shareId, offset])
  useEffect(() => {
    void loadHistory()
  }, [loadHistory])
  useEffect(() => {
    api.list({ status: 'active', shareId, limit: 100 }).then(
      (p) => setInitial(p.items),
      (err: unknown) => setError(errorMessage(err)),
    )
  }, [api, shareId])

  const live = useDownloadsFeed(scope, initial, () => void loadHistory()).filter((d) => !shareId || d.shareId === shareId)

  async function stop(d: MonitoredDownload) {
    try {
      await api.stop(d.id)
    } catch (err) {
      setError(errorMessage(err))
    }
  }

  return (
    <div className="space-y-3">
      {error && <Alert tone="error">{error}</Alert>}
      <section aria-label={t('monitor.active')} className="space-y-2">
        <h3 className="font-semibold">{t('monitor.active')}</h3>
        {live.length === 0 ? (
          <p className="text-sm text-slate-600 dark:text-slate-400">{t('monitor.noneRunning')}</p>
        ) : (
          <ul className="space-y-2" data-testid="active-downloads">
            {live.map((d) => (
              <li key={d.id} className="rounded-xl border border-slate-200 p-3 dark:border-slate-700" data-testid="active-download">
                <div className="flex flex-wrap items-baseline justify-between gap-2 text-sm">
                  <span className="min-w-0 truncate font-medium" title={t('monitor.fileOfShare', { name: d.fileName, id: d.shareId })}>
                    {d.fileName}{' '}
                    <span className="font-mono text-xs font-normal text-slate-600 dark:text-slate-400">{t('monitor.shareShort', { id: d.shareId.slice(0, 8) })}</span>
                  </span>
                  <span className="text-slate-600 dark:text-slate-400">
                    {d.client.ip}
                    {!compact && d.client.userAgent ? ` · ${d.client.userAgent.slice(0, 60)}` : ''}
                  </span>
                </div>
                <ProgressBar value={d.percent} label={t('monitor.downloadOf', { name: d.fileName })} size="sm" />
                <div className="mt-1 flex flex-wrap items-center justify-between gap-2 text-xs text-slate-600 dark:text-slate-400">
                  <span data-testid="download-bytes" data-bytes={d.offset + d.bytes}>
                    {t('common.sizeOf', { done: formatBytes(d.offset + d.bytes), total: formatBytes(d.total) })} ({Math.floor(d.percent)} %) · {formatSpeed(d.speed)}
                  </span>
                  <Button variant="secondary" onClick={() => void stop(d)} aria-label={t('monitor.stopOf', { name: d.fileName })}>
                    {t('monitor.stop')}
                  </Button>
                </div>
              </li>
            ))}
          </ul>
        )}
      </section>
      <section aria-label={t('monitor.finished')} className="space-y-2">
        <h3 className="font-semibold">{t('monitor.finished')}</h3>
        {history && history.items.length === 0 && <p className="text-sm text-slate-600 dark:text-slate-400">{t('monitor.noneYet')}</p>}
        {history && history.items.length > 0 && (
          <>
            <ul className="divide-y divide-slate-200 text-sm dark:divide-slate-700" data-testid="finished-downloads">
              {history.items.map((d) => (
                <li key={d.id} className="flex flex-wrap justify-between gap-2 py-1.5">
                  <span className="min-w-0 truncate">
                    {d.fileName} · {d.client.ip}
                  </span>
                  <span className="text-slate-600 dark:text-slate-400" title={d.endedAt ? formatDateTime(d.endedAt) : undefined}>
                    {t(`monitor.status.${d.status}`)} · {formatBytes(d.bytes)} · {d.endedAt ? formatDateTime(d.endedAt) : ''}
                  </span>
                </li>
              ))}
            </ul>
            {history.total > HISTORY && (
              <div className="flex gap-2">
                <Button variant="secondary" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - HISTORY))}>
                  {t('monitor.newer')}
                </Button>
                <Button variant="secondary" disabled={offset + HISTORY >= history.total} onClick={() => setOffset(offset + HISTORY)}>
                  {t('monitor.older')}
                </Button>
              </div>
            )}
          </>
        )}
      </section>
    </div>
  )
}
