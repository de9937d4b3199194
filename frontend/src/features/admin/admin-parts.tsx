import { useTranslation } from 'react-i18next'
import type { ReactNode } from 'react'
import { Button } from '../../components/button'

/** One figure on a card: a label and a big number. */
export function StatCard({ label, value, hint, testId }: { label: string; value: ReactNode; hint?: ReactNode; testId?: string }) {
  return (
    <div className="rounded-xl border border-slate-200 bg-white p-3 shadow-sm dark:border-slate-700 dark:bg-slate-900" data-testid={testId}>
      <dt className="text-xs font-medium uppercase tracking-wide text-slate-600 dark:text-slate-400">{label}</dt>
      <dd className="mt-1 text-2xl font-bold tabular-nums" data-testid={testId ? `${testId}-value` : undefined}>
        {value}
      </dd>
      {hint !== undefined && <dd className="text-xs text-slate-600 dark:text-slate-400">{hint}</dd>}
    </div>
  )
}

/** "21–40 of 93" with previous/next buttons. */
export function Pager({
  total,
  limit,
  offset,
  onOffset,
  label,
}: {
  total: number
  limit: number
  offset: number
  onOffset: (offset: number) => void
  label: string
}) {
  const { t } = useTranslation()
  const first = total === 0 ? 0 : offset + 1
  const last = Math.min(offset + limit, total)
  return (
    <nav aria-label={t('admin.pages', { label })} className="flex items-center justify-between gap-2 pt-3 text-sm">
      <p className="text-slate-700 dark:text-slate-300" aria-live="polite">
        {t('admin.range', { first, last, total })}
      </p>
      <div className="flex gap-2">
        <Button variant="secondary" disabled={offset === 0} onClick={() => onOffset(Math.max(0, offset - limit))}>
          {t('admin.previous')}
        </Button>
        <Button variant="secondary" disabled={offset + limit >= total} onClick={() => onOffset(offset + limit)}>
          {t('admin.next')}
        </Button>
      </div>
    </nav>
  )
}

export const inputClass =
  'min-h-11 w-full rounded-xl border border-slate-300 bg-white px-3 py-2 text-base text-slate-900 focus:outline-none focus-visible:outline-2 focus-visible:outline-indigo-500 dark:border-slate-600 dark:bg-slate-800 dark:text-slate-100'

export const thClass =
  'whitespace-nowrap px-2 py-2 text-left text-xs font-semibold uppercase tracking-wide text-slate-600 dark:text-slate-400'
export const tdClass = 'px-2 py-2 align-top'

/** A horizontally scrollable table region (phones), focusable so keyboard users can scroll it. */
export function TableScroll({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div
      role="region"
      // "… table": the section around it is often named by the same heading ("Shares"), and two
      // landmarks with one name cannot be told apart.
      aria-label={`${label} table`}
      tabIndex={0}
      className="relative -mx-4 overflow-x-auto px-4 focus:outline-none focus-visible:outline-2 focus-visible:outline-indigo-500 sm:mx-0 sm:px-0"
    >
      {children}
    </div>
  )
}
