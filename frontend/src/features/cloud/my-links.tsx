import { useTranslation } from 'react-i18next'
import { Link } from 'react-router-dom'
import { Card } from '../../components/card'
import { formatExpiry } from '../../lib/format'
import type { OwnedLink } from './upload-records'

/** Links created in this browser (with their owner token), newest first. */
export function MyLinks({ links }: { links: OwnedLink[] }) {
  const { t } = useTranslation()
  if (links.length === 0) return null
  return (
    <Card aria-labelledby="my-links-heading" className="space-y-3">
      <h2 id="my-links-heading" className="text-lg font-bold">
        {t('myLinks.heading')}
      </h2>
      <ul className="divide-y divide-slate-200 dark:divide-slate-700">
        {links.slice(0, 10).map((l) => (
          <li key={l.id}>
            <Link
              to={`/links/${encodeURIComponent(l.id)}`}
              className="flex min-h-11 items-center justify-between gap-3 rounded-lg px-1 py-2 hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:hover:bg-slate-800"
            >
              <span className="truncate font-medium">
                {l.files[0]?.name ?? t('common.files')}
                {l.files.length > 1 ? ` ${t('common.andMore', { count: l.files.length - 1 })}` : ''}
              </span>
              <span className="shrink-0 text-sm text-slate-600 dark:text-slate-400">{t('common.expires', { when: formatExpiry(l.expiresAt) })}</span>
            </Link>
          </li>
        ))}
      </ul>
    </Card>
  )
}
