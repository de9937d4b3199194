import { useTranslation } from 'react-i18next'
import { LANGUAGES, currentLanguage } from '../i18n'

/** The language switcher of the header; the choice is remembered in this browser. */
export function LanguageMenu() {
  const { t, i18n } = useTranslation()
  return (
    <select
      data-language-menu
      aria-label={t('layout.language')}
      value={currentLanguage()}
      onChange={(e) => void i18n.changeLanguage(e.target.value)}
      className="h-11 max-w-24 rounded-xl sm:max-w-40 border-0 bg-transparent px-2 text-sm text-slate-700 hover:bg-slate-200 dark:text-slate-200 dark:hover:bg-slate-800"
    >
      {LANGUAGES.map((l) => (
        <option key={l.code} value={l.code} lang={l.code}>
          {l.name}
        </option>
      ))}
    </select>
  )
}
