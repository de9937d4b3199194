import { useTranslation } from 'react-i18next'
import { ProgressBar } from '../../components/progress-bar'
import { formatSpeed } from '../../lib/format'
import type { TransferView } from './engine/room-session'

const isMoving = (t: TransferView) => t.phase === 'active' || t.phase === 'finishing'

/**
 * On a phone the transfer cards are below the room's QR card: while bytes move, a compact bar stays
 * at the bottom of the screen (sending and receiving, all transfers together). Hidden from `sm` up,
 * where the cards are in view; screen readers follow the cards themselves.
 */
export function CompactProgress({ transfers }: { transfers: TransferView[] }) {
  const { t } = useTranslation()
  const moving = transfers.filter(isMoving)
  if (moving.length === 0) return null
  const bytes = moving.reduce((s, t) => s + t.progress.bytes, 0)
  const total = moving.reduce((s, t) => s + t.progress.total, 0)
  const speed = moving.reduce((s, t) => s + t.progress.speed, 0)
  const pct = total > 0 ? (bytes / total) * 100 : 0
  const sending = moving.filter((t) => t.direction === 'send')
  const receiving = moving.filter((t) => t.direction === 'receive')
  const what =
    moving.length > 1
      ? t('room.transferCount', { count: moving.length })
      : sending.length === 1
        ? t('room.sendingTo', { name: sending[0]!.peerName })
        : t('room.receivingFrom', { name: receiving[0]!.peerName })
  return (
    <div
      aria-hidden="true"
      data-testid="compact-progress"
      className="fixed inset-x-0 bottom-0 z-20 space-y-1.5 border-t border-slate-200 bg-white/95 px-4 pt-2 pb-[max(0.5rem,env(safe-area-inset-bottom))] text-sm shadow-lg sm:hidden dark:border-slate-700 dark:bg-slate-900/95"
    >
      <div className="flex items-baseline gap-2">
        <span className="min-w-0 truncate font-medium">{what}</span>
        <span className="ml-auto shrink-0 tabular-nums">
          {Math.floor(pct)} %{speed > 0 ? ` · ${formatSpeed(speed)}` : ''}
        </span>
      </div>
      <ProgressBar value={pct} label={t('room.allTransfers')} size="sm" />
    </div>
  )
}

/** Room for the compact bar under the page's last card, on a phone, while it is shown. */
export const compactProgressPadding = (transfers: TransferView[]) => (transfers.some(isMoving) ? 'pb-20 sm:pb-0' : '')
