import { useEffect, useRef, useState, type ReactNode } from 'react'
import { useTranslation } from 'react-i18next'
import { formatBytes } from '../../lib/format'
import type { TransferView } from './engine/room-session'

/** Names shown in an offer before "and N more". */
const NAMES_SHOWN = 5

export const isIncomingOffer = (t: TransferView) => t.direction === 'receive' && t.phase === 'offered'

/**
 * The offer to put in front of the person: the newest one not yet answered, unless they closed its
 * dialog (it then stays in the list as an ordinary card). Newest first, like the list of transfers.
 */
export function useIncomingOffer(transfers: TransferView[]): { offer: TransferView | null; setAside(id: string): void } {
  const [setAsideIds, setSetAsideIds] = useState<ReadonlySet<string>>(() => new Set())
  const offer = transfers.findLast((t) => isIncomingOffer(t) && !setAsideIds.has(t.id)) ?? null
  return { offer, setAside: (id) => setSetAsideIds((prev) => new Set(prev).add(id)) }
}

/**
 * An incoming offer as a modal dialog, so that it is seen on any screen size, wherever the page is
 * scrolled. Escape closes it back to the card in the list, unanswered.
 */
export function OfferDialog({ offer, onClose, children }: { offer: TransferView; onClose(): void; children: ReactNode }) {
  const { t } = useTranslation()
  const ref = useRef<HTMLDialogElement>(null)
  useEffect(() => {
    const dialog = ref.current
    if (!dialog) return
    // showModal moves focus to the first control inside (Accept) and makes the page behind inert.
    if (!dialog.open) dialog.showModal()
    return () => dialog.close()
  }, [offer.id])
  return (
    <dialog
      ref={ref}
      aria-labelledby="offer-dialog-title"
      // A close that a reopen overtook (React re-running the effect) is not the person's.
      onClose={() => {
        if (!ref.current?.open) onClose()
      }}
      className="m-auto max-h-[90dvh] w-[min(100%-2rem,32rem)] overflow-y-auto rounded-2xl bg-transparent p-0 text-slate-900 backdrop:bg-slate-950/60 dark:text-slate-100"
    >
      <h2 id="offer-dialog-title" className="sr-only">
        {t('room.incomingFrom', { name: offer.peerName })}
      </h2>
      {children}
    </dialog>
  )
}

/** The names of an offer's files (the first few, then how many more) and the size of each. */
export function OfferedFiles({ files }: { files: TransferView['files'] }) {
  const { t } = useTranslation()
  const more = files.length - NAMES_SHOWN
  return (
    <ul className="space-y-1 text-sm" aria-label={t('room.offeredFiles')} data-testid="offered-files">
      {files.slice(0, NAMES_SHOWN).map((f, i) => (
        <li key={i} className="flex items-center gap-2">
          {/* The sender's thumbnail: the schema lets only a small JPEG/PNG/WebP data: URL through, and an <img> never runs it. */}
          {f.thumb && <img src={f.thumb} alt="" width={48} height={48} className="h-12 w-12 shrink-0 rounded-lg object-cover" data-testid="offer-thumbnail" />}
          <span className="min-w-0 break-all font-medium">{f.name}</span>
          <span className="ml-auto shrink-0 tabular-nums text-slate-600 dark:text-slate-300">{formatBytes(f.size)}</span>
        </li>
      ))}
      {more > 0 && <li className="text-slate-600 dark:text-slate-300">{t('common.andMore', { count: more })}</li>}
    </ul>
  )
}

/** Whether this browser can show notifications, and what the person said about them. */
export function notificationPermission(): NotificationPermission | 'unsupported' {
  return typeof Notification === 'undefined' || !window.isSecureContext ? 'unsupported' : Notification.permission
}

/**
 * A system notification for an offer that arrives while the page is hidden (another tab, the
 * browser in the background), where the person allowed notifications. It closes once answered;
 * clicking it brings the page (and its dialog) to the front.
 */
export function useOfferNotification(offer: TransferView | null): void {
  const { t } = useTranslation()
  // One notification per offer (keyed by its id): a later render of the same offer does not repeat it.
  const latest = useRef({ offer, t })
  latest.current = { offer, t }
  const id = offer?.id
  useEffect(() => {
    const { offer: current, t } = latest.current
    if (!id || !current || notificationPermission() !== 'granted' || document.visibilityState !== 'hidden') return
    const { peerName, files } = current
    let shown: Notification | null = null
    try {
      const names = files.slice(0, 3).map((f) => f.name).join(', ')
      const more = files.length > 3 ? ` ${t('common.andMore', { count: files.length - 3 })}` : ''
      shown = new Notification(t('room.incomingFrom', { name: peerName }), { body: t('room.notificationBody', { names: `${names}${more}` }), tag: `offer-${id}` })
      shown.onclick = () => {
        window.focus()
        shown?.close()
      }
    } catch {
      // Some browsers (Android Chrome) only show notifications from a service worker: the tab title still says it.
    }
    return () => shown?.close()
  }, [id])
}

/** "Notify me of incoming files": asks for the permission (on a click, as browsers require); hidden once answered. */
export function NotifyButton() {
  const { t } = useTranslation()
  const [permission, setPermission] = useState(notificationPermission)
  if (permission !== 'default') return null
  return (
    <button
      type="button"
      className="text-sm font-semibold text-indigo-700 underline dark:text-indigo-300"
      onClick={() => void Notification.requestPermission().then(setPermission, () => setPermission(notificationPermission()))}
    >
      {t('room.notifyMe')}
    </button>
  )
}
