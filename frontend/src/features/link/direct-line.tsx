import { useEffect, useRef, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { Button } from '../../components/button'
import { formatSpeed } from '../../lib/format'
import type { ReceiverView } from './link-receiver'

/**
 * The one line that says how this page gets the files ("Receiving directly from the sender — 38
 * MB/s", "… through the server relay", "Sender is offline — downloading from the cloud copy"), and,
 * with no sender and no copy, the offer to be notified when the sender is back.
 */
export function DirectLine({ view }: { view: ReceiverView }) {
  const { t } = useTranslation()
  const [notify, setNotify] = useState(false)
  const [back, setBack] = useState(false)
  const was = useRef(view.path)
  useEffect(() => {
    const before = was.current
    was.current = view.path
    if (before !== 'offline' || view.path === 'offline') return
    setBack(true)
    if (notify && typeof Notification === 'function' && Notification.permission === 'granted') {
      new Notification(t('link.senderBackTitle'), { body: t('link.senderBack') })
    }
  }, [view.path, notify, t])

  const speed = view.transfer && view.transfer.phase === 'active' && view.transfer.progress.speed > 0 ? view.transfer.progress.speed : 0
  const line =
    view.path === 'direct'
      ? speed
        ? t('link.pathDirectSpeed', { speed: formatSpeed(speed) })
        : t('link.pathDirect')
      : view.path === 'relay'
        ? speed
          ? t('link.pathRelaySpeed', { speed: formatSpeed(speed) })
          : t('link.pathRelay')
        : view.path === 'cloud'
          ? view.state.hosts > 0
            ? t('link.pathCloudFallback')
            : t('link.pathCloud')
          : view.path === 'waiting'
            ? t('link.pathWaiting')
            : view.path === 'offline'
              ? t('link.pathOffline')
              : t('link.pathConnecting')

  const ask = async () => {
    if (typeof Notification === 'function' && Notification.permission === 'default') await Notification.requestPermission().catch(() => 'denied')
    setNotify(true)
  }

  return (
    <div className="space-y-2">
      <p className="text-sm font-medium text-slate-700 dark:text-slate-300" data-testid="path-line" data-path={view.path} role="status">
        {back && view.path !== 'offline' ? `${t('link.senderBack')} ` : ''}
        {line}
      </p>
      {view.path === 'offline' &&
        (notify ? (
          <p className="text-sm text-slate-600 dark:text-slate-400" data-testid="notify-on">
            {t('link.notifyOn')}
          </p>
        ) : (
          <Button variant="secondary" onClick={() => void ask()}>
            {t('link.notifyMe')}
          </Button>
        ))}
    </div>
  )
}
