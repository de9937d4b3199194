import { useSearchParams } from 'react-router-dom'
import { Alert } from '../../components/alert'
import { Button } from '../../components/button'

/** The server sends only a code after a failed sign-in (`/?signin_error=…`); the wording lives here. */
const MESSAGES: Record<string, string> = {
  account_disabled: 'This account has been disabled by an administrator.',
  auth_provider_unavailable: 'Google sign-in is unavailable right now. Please try again in a moment.',
  forbidden: 'Google did not confirm the sign-in (the account needs a verified email address). Please try again.',
  identity_conflict:
    'An account with this e-mail address already exists here, signed in with a different Google account. Use that account, or ask an administrator.',
}

export function SignInError() {
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
        <span>{MESSAGES[code] ?? 'Sign-in did not complete. Please try again.'}</span>
        <Button variant="ghost" className="-my-2 shrink-0" onClick={dismiss}>
          Dismiss
        </Button>
      </Alert>
    </div>
  )
}
