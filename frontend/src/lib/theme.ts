import { safeStorage } from './features'

export type Theme = 'light' | 'dark'
const KEY = 'sharesync.theme'

export function preferredTheme(): Theme {
  const saved = safeStorage.get(KEY)
  if (saved === 'light' || saved === 'dark') return saved
  return window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'
}

/** The `dark` class on <html> drives Tailwind's dark variant (see index.css). */
export function applyTheme(theme: Theme, persist = false): void {
  document.documentElement.classList.toggle('dark', theme === 'dark')
  document.documentElement.style.colorScheme = theme
  if (persist) safeStorage.set(KEY, theme)
}
