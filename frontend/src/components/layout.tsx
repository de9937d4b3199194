import { useEffect, useRef, type ReactNode } from 'react'
import { Link, useLocation } from 'react-router-dom'
import { useTranslation } from 'react-i18next'
import { LanguageMenu } from './language-menu'
import { ThemeToggle } from './theme-toggle'

/** Page frame: header (logo, `headerSlot` for the account menu, theme switch), main, footer. */
export function Layout({ children, headerSlot }: { children: ReactNode; headerSlot?: ReactNode }) {
  const { t } = useTranslation()
  const { pathname } = useLocation()
  const main = useRef<HTMLElement>(null)
  const first = useRef(true)
  // After a client-side navigation, start keyboard and screen-reader users at the new page's content.
  useEffect(() => {
    if (first.current) {
      first.current = false
      return
    }
    main.current?.focus({ preventScroll: false })
  }, [pathname])
  return (
    <div className="flex min-h-dvh flex-col">
      <a
        href="#main"
        className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded-lg focus:bg-white focus:px-3 focus:py-2 focus:text-slate-900"
      >
        {t('layout.skipToContent')}
      </a>
      <header className="border-b border-slate-200 bg-white/80 backdrop-blur dark:border-slate-800 dark:bg-slate-950/80">
        <div className="mx-auto flex max-w-4xl items-center gap-2 px-4 py-2">
          <Link
            to="/"
            className="flex min-h-11 items-center gap-2 rounded-lg text-lg font-bold tracking-tight focus-visible:outline-2 focus-visible:outline-indigo-500"
          >
            <Logo />
            <span>ShareSync</span>
          </Link>
          <div className="ml-auto flex items-center gap-1">
            {headerSlot}
            <LanguageMenu />
            <ThemeToggle />
          </div>
        </div>
      </header>
      <main ref={main} id="main" tabIndex={-1} className="mx-auto w-full max-w-4xl flex-1 px-4 py-6 focus:outline-none sm:py-10">
        {children}
      </main>
      <footer className="mx-auto w-full max-w-4xl px-4 py-6 text-center text-xs text-slate-600 dark:text-slate-400">
        {t('layout.footer')}{' '}
        <Link to="/docs/api" className="underline">
          {t('layout.apiReference')}
        </Link>
      </footer>
    </div>
  )
}

function Logo() {
  return (
    <svg aria-hidden="true" viewBox="0 0 32 32" className="h-8 w-8">
      <rect width="32" height="32" rx="8" className="fill-indigo-600 dark:fill-indigo-400" />
      <path
        d="M16 7v13M10.5 12.5 16 7l5.5 5.5M9 24h14"
        stroke="white"
        strokeWidth="2.6"
        strokeLinecap="round"
        strokeLinejoin="round"
        fill="none"
        className="dark:stroke-slate-950"
      />
    </svg>
  )
}
