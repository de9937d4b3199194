import type { Me } from '@sharesync/protocol'
import type { ReactNode } from 'react'
import { useTranslation } from 'react-i18next'
import { Alert } from '../../components/alert'
import { buttonClass } from '../../components/button'
import { Card } from '../../components/card'
import { signInUrl } from './auth-api'
import { useMe } from './use-me'

/**
 * A page only a signed-in person can use. While it is not known who is signed in it says so; signed
 * out, a card with the page's title, why to sign in and how (`action`); signed in, the page itself.
 */
export function SignedInGate({ title, why, action, children }: { title: string; why: string; action: ReactNode; children: (me: Me) => ReactNode }) {
  const { t } = useTranslation()
  const me = useMe()
  if (me.status === 'loading') return <p className="text-slate-600 dark:text-slate-400">{t('common.loading')}</p>
  if (me.status === 'error') return <Alert tone="error">{t('home.unreachable')}</Alert>
  if (!me.me) {
    return (
      <Card className="space-y-4">
        <h1 className="text-2xl font-bold">{title}</h1>
        <p>{why}</p>
        {action}
      </Card>
    )
  }
  return children(me.me)
}

/** The sign-in button of a gate: back to `returnTo` once signed in. */
export function SignInLink({ returnTo, label }: { returnTo: string; label: string }) {
  return (
    <a href={signInUrl(returnTo)} className={buttonClass('primary')}>
      {label}
    </a>
  )
}
