import type { Me } from '@sharesync/protocol'
import type { ReactNode } from 'react'
import { useTranslation } from 'react-i18next'
import { Alert } from '../../components/alert'
import { buttonClass } from '../../components/button'
import { Card } from '../../components/card'
import { usePublicConfig } from '../../lib/use-public-config'
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

/**
 * The sign-in buttons of a gate, back to `returnTo` once signed in: one per provider the server has
 * (Google, then each OpenID Connect provider by its own button text), or a line saying sign-in is
 * not configured.
 */
export function SignInLink({ returnTo, label }: { returnTo: string; label: string }) {
  const { t } = useTranslation()
  const { config } = usePublicConfig()
  if (!config) return null
  const providers = config.auth.providers
  if (!config.auth.google && providers.length === 0) return <p className="text-sm text-slate-600 dark:text-slate-400">{t('myShares.noSignIn')}</p>
  return (
    <div className="flex flex-wrap gap-2">
      {config.auth.google && (
        <a href={signInUrl(returnTo)} className={buttonClass('primary')}>
          {providers.length > 0 ? t('auth.signInGoogle') : label}
        </a>
      )}
      {providers.map((p) => (
        <a key={p.id} href={signInUrl(returnTo, p.id)} className={buttonClass(config.auth.google ? 'secondary' : 'primary')}>
          {p.button}
        </a>
      ))}
    </div>
  )
}
