import { Trans, useTranslation } from 'react-i18next'
import { ButtonLink } from '../../components/button'
import { Card } from '../../components/card'
import { usePageTitle } from '../../components/page-title'

/** Commands, not words: the same in every language. */
const LINK_COMMAND = 'pnpm admin:link'
const DOCKER_LINK_COMMAND = 'docker compose exec app node backend/dist/cli/admin.js link'

/** Where a used, replaced or expired one-time admin link lands (the server redirects browsers here). */
export function AdminLinkUsed() {
  const { t } = useTranslation()
  usePageTitle(t('adminLink.pageTitle'))
  return (
    <Card aria-labelledby="admin-link-heading" className="mx-auto max-w-lg space-y-4">
      <h1 id="admin-link-heading" className="text-2xl font-bold">
        {t('adminLink.heading')}
      </h1>
      <p className="text-slate-700 dark:text-slate-300">{t('adminLink.once')}</p>
      <p className="text-slate-700 dark:text-slate-300">{t('adminLink.operator')}</p>
      <pre className="overflow-x-auto rounded-md bg-slate-100 p-3 text-sm text-slate-900 dark:bg-slate-800 dark:text-slate-100">
        <code>{LINK_COMMAND}</code>
      </pre>
      <p className="text-slate-700 dark:text-slate-300">
        <Trans i18nKey="adminLink.docker" components={[<code key="cmd" className="text-sm" />]} values={{ command: DOCKER_LINK_COMMAND }} />
      </p>
      <ButtonLink to="/">{t('adminLink.home')}</ButtonLink>
    </Card>
  )
}
