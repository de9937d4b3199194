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
        <li key={i} className="flex gap-2">
          <span className="min-w-0 break-all font-medium">{f.name}</span>
          <span className="ml-auto shrink-0 tabular-nums text-slate-600 dark:text-slate-300">{formatBytes(f.size)}</span>
        </li>
      ))}
      {more > 0 && <li className="text-slate-600 dark:text-slate-300">{t('common.andMore', { count: more })}</li>}
    </ul>
  )
}
