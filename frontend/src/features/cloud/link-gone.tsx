import { useTranslation } from 'react-i18next'
import { ButtonLink } from '../../components/button'
import { Card } from '../../components/card'
import { usePageTitle } from '../../components/page-title'

/** The one page for unknown, expired, used-up and deleted links (the server answers them all alike). */
export function LinkGone({ title }: { title?: string }) {
  const { t } = useTranslation()
  usePageTitle(t('gone.pageTitle'))
  return (
    <Card aria-labelledby="gone-heading" className="mx-auto max-w-lg space-y-4 text-center">
      <div aria-hidden="true" className="text-5xl">
        ⌛
      </div>
      <h1 id="gone-heading" className="text-2xl font-bold">
        {title ?? t('gone.heading')}
      </h1>
      <p className="text-slate-700 dark:text-slate-300">{t('gone.text')}</p>
      <ButtonLink to="/">{t('gone.shareYourOwn')}</ButtonLink>
    </Card>
  )
}
