import { Menu, MenuButton, MenuItem, MenuItems } from '@headlessui/react'
import { useEffect, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { Link, useNavigate } from 'react-router-dom'
import { buttonClass } from '../../components/button'
import { errorMessage } from '../../lib/api'
import { usePublicConfig } from '../../lib/use-public-config'
import { libraryApi } from '../library/library-api'
import { authApi, signInUrl } from './auth-api'
import { SignInError } from './sign-in-error'
import { setSignedOut, useMe } from './use-me'

const itemClass =
  'block w-full rounded-lg px-3 py-2 text-left text-sm data-[focus]:bg-slate-100 dark:data-[focus]:bg-slate-800 min-h-11 flex items-center'

/**
 * The header's account corner: "Sign in" when Google sign-in is configured, else nothing; once
 * signed in, the user's avatar with "My shares", "API tokens", "Admin" (admins only) and "Sign out".
 */
export function AccountMenu() {
  const { t } = useTranslation()
  const me = useMe()
  const { config } = usePublicConfig()
  const navigate = useNavigate()
  const [error, setError] = useState<string | null>(null)
  // "Library" shows for admins and the users an admin allowed, when the server has one.
  const [library, setLibrary] = useState(false)
  const signedInId = me.status === 'ready' ? (me.me?.id ?? null) : null
  useEffect(() => {
    if (!signedInId) return
    libraryApi.access().then(
      (a) => setLibrary(a.allowed),
      () => setLibrary(false),
    )
  }, [signedInId])

  if (me.status !== 'ready') return null
  if (!me.me) {
    const providers = config?.auth.providers ?? []
    if (!config?.auth.google && providers.length === 0) return null
    return (
      <>
        <SignInError />
        {/* Plain links: sign-in leaves the app for the provider and comes back with a fresh page load. */}
        {config?.auth.google && (
          <a href={signInUrl()} className={buttonClass('secondary')}>
            {providers.length > 0 ? t('auth.signInGoogle') : t('auth.signIn')}
          </a>
        )}
        {providers.map((p) => (
          <a key={p.id} href={signInUrl(undefined, p.id)} className={buttonClass('secondary')}>
            {p.button}
          </a>
        ))}
      </>
    )
  }
  const user = me.me

  const signOut = async () => {
    try {
      await authApi.logout()
      setSignedOut()
      void navigate('/')
    } catch (err) {
      setError(errorMessage(err))
    }
  }

  return (
    <Menu as="div" className="relative">
      <MenuButton className={buttonClass('ghost', 'px-2')}>
        <Avatar name={user.name || user.email} url={user.avatarUrl} />
        {/* The accessible name is the visible one ("Account: Ada"); on phones only the avatar shows. */}
        <span className="sr-only">{t('auth.account')} </span>
        <span className="sr-only max-w-40 truncate sm:not-sr-only">{user.name || user.email}</span>
      </MenuButton>
      <MenuItems
        anchor="bottom end"
        className="z-40 mt-1 w-56 rounded-xl border border-slate-200 bg-white p-1 shadow-lg focus:outline-none dark:border-slate-700 dark:bg-slate-900"
      >
        <div className="px-3 py-2 text-xs text-slate-600 dark:text-slate-400">
          {t('auth.signedInAs')} <span className="font-medium break-all">{user.email}</span>
        </div>
        <MenuItem>
          <Link to="/me" className={itemClass}>
            {t('auth.myShares')}
          </Link>
        </MenuItem>
        <MenuItem>
          <Link to="/me/requests" className={itemClass}>
            {t('requests.title')}
          </Link>
        </MenuItem>
        <MenuItem>
          <Link to="/me/tokens" className={itemClass}>
            {t('auth.apiTokens')}
          </Link>
        </MenuItem>
        {library && (
          <MenuItem>
            <Link to="/library" className={itemClass}>
              {t('auth.library')}
            </Link>
          </MenuItem>
        )}
        {user.role === 'admin' && (
          <MenuItem>
            <Link to="/admin" className={itemClass}>
              {t('admin.dashboard')}
            </Link>
          </MenuItem>
        )}
        <MenuItem>
          <button type="button" className={itemClass} onClick={() => void signOut()}>
            {t('auth.signOut')}
          </button>
        </MenuItem>
        {error && (
          <p role="alert" className="px-3 py-2 text-xs text-red-700 dark:text-red-300">
            {error}
          </p>
        )}
      </MenuItems>
    </Menu>
  )
}

function Avatar({ name, url }: { name: string; url: string | null }) {
  const [broken, setBroken] = useState(false)
  if (url && !broken) {
    // no-referrer: the avatar host learns nothing about which ShareSync page was open.
    return <img src={url} alt="" referrerPolicy="no-referrer" onError={() => setBroken(true)} className="h-8 w-8 rounded-full" />
  }
  return (
    <span aria-hidden="true" className="flex h-8 w-8 items-center justify-center rounded-full bg-indigo-600 text-sm font-bold text-white dark:bg-indigo-400 dark:text-slate-950">
      {(name.trim()[0] ?? '?').toUpperCase()}
    </span>
  )
}
