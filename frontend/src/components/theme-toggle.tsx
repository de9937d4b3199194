import { Switch } from '@headlessui/react'
import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import { applyTheme, preferredTheme, type Theme } from '../lib/theme'

/** Light/dark switch; the choice is remembered in this browser. */
export function ThemeToggle() {
  const { t } = useTranslation()
  const [theme, setTheme] = useState<Theme>(() => preferredTheme())
  const dark = theme === 'dark'
  return (
    <Switch
      checked={dark}
      onChange={(on: boolean) => {
        const next: Theme = on ? 'dark' : 'light'
        applyTheme(next, true)
        setTheme(next)
      }}
      aria-label={t('layout.darkTheme')}
      className="group inline-flex h-11 min-w-11 items-center justify-center rounded-xl text-slate-700 hover:bg-slate-200 focus:outline-none data-[focus]:outline-2 data-[focus]:outline-indigo-500 dark:text-slate-200 dark:hover:bg-slate-800"
    >
      <span aria-hidden="true" className="text-xl leading-none">
        {dark ? '☾' : '☀'}
      </span>
    </Switch>
  )
}
