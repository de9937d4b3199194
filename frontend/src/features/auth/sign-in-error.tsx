import { useTranslation } from 'react-i18next'
import { useSearchParams } from 'react-router-dom'
import { Alert } from '../../components/alert'
import { Button } from '../../components/button'

/** The server sends only a code after a failed sign-in (`/?signin_error=…`); the wording lives here. */
const CODES = ['account_disabled', 'auth_provider_unavailable', 'forbidden', 'identity_conflict'] as const
const isKnown = (code: string): code is (typeof CODES)[number] => (CODES as readonly string[]).includes(code)

export function SignInError() {
  const { t } = useTranslation()
  const [params, setParams] = useSearchParams()
  const code = params.get('signin_error')
  if (code === null) return null
  const dismiss = () => {
    const next = new URLSearchParams(params)
    next.delete('signin_error')
    setParams(next, { replace: true })
  }
  return (
    <div className="fixed inset-x-0 top-16 z-40 mx-auto w-full max-w-lg px-4">
      <Alert tone="error" className="flex items-start justify-between gap-3 shadow-lg">
        <span>{isKnown(code) ? t(`auth.signInError.${code}`) : t('auth.signInError.other')}</span>
        <Button variant="ghost" className="-my-2 shrink-0" onClick={dismiss}>
          {t('auth.dismiss')}
        </Button>
      </Alert>
    </div>
  )
}
