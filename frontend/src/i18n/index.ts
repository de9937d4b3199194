/// <reference types="vite/client" />
/**
 * The web app's languages: i18next with English bundled and every other language loaded on demand
 * (one small chunk each). The browser's language is the default; a choice made in the language menu
 * is remembered in this browser. `<html lang>` follows the current language.
 */
import i18n, { type BackendModule, type ResourceKey } from 'i18next'
import LanguageDetector from 'i18next-browser-languagedetector'
import { initReactI18next } from 'react-i18next'
import { z } from 'zod'
import en from './locales/en.json'

/** Every language of the app, by BCP 47 tag, with its name in that language (for the menu). */
export const LANGUAGES = [
  { code: 'en', name: 'English' },
  { code: 'de', name: 'Deutsch' },
  { code: 'fr', name: 'Français' },
  { code: 'es', name: 'Español' },
  { code: 'pt-BR', name: 'Português (Brasil)' },
  { code: 'zh-CN', name: '简体中文' },
] as const

export type LanguageCode = (typeof LANGUAGES)[number]['code']

/** Where the chosen language is remembered. */
export const LANGUAGE_STORAGE_KEY = 'sharesync.language'

const loaders = import.meta.glob<{ default: ResourceKey }>(['./locales/*.json', '!./locales/en.json'])

/** Loads a language's messages when i18next first needs them. */
const lazyLocales: BackendModule = {
  type: 'backend',
  init() {},
  read(language, _namespace, callback) {
    const load = loaders[`./locales/${language}.json`]
    if (!load) return callback(null, {})
    load().then(
      (m) => callback(null, m.default),
      (err: unknown) => callback(err instanceof Error ? err : new Error(String(err)), null),
    )
  },
}

function followDocument(language: string) {
  if (typeof document !== 'undefined') document.documentElement.lang = language
}

i18n.on('languageChanged', followDocument)

/** Zod's own words for a value a schema refuses (shown inside some messages), per language, loaded on demand. */
const zodLocales: Record<LanguageCode, () => Promise<{ default: () => Parameters<typeof z.config>[0] }>> = {
  en: () => import('zod/v4/locales/en.js'),
  de: () => import('zod/v4/locales/de.js'),
  fr: () => import('zod/v4/locales/fr.js'),
  es: () => import('zod/v4/locales/es.js'),
  'pt-BR': () => import('zod/v4/locales/pt.js'),
  'zh-CN': () => import('zod/v4/locales/zh-CN.js'),
}

/** Zod's messages follow the app's language (English until another one is loaded). */
export function followZod(language: LanguageCode): Promise<void> {
  return zodLocales[language]().then(
    (locale) => void z.config(locale.default()),
    () => undefined,
  )
}

i18n.on('languageChanged', () => void followZod(currentLanguage()))

/** Resolves once the current language's messages are loaded (render after it: no flash of English). */
export const i18nReady = i18n
  .use(lazyLocales)
  .use(LanguageDetector)
  .use(initReactI18next)
  .init({
    resources: { en: { translation: en } },
    partialBundledLanguages: true,
    // English is bundled: t() answers from the first line on (other languages are awaited via i18nReady).
    initAsync: false,
    supportedLngs: LANGUAGES.map((l) => l.code),
    fallbackLng: 'en',
    load: 'currentOnly',
    // React escapes what it renders.
    interpolation: { escapeValue: false },
    detection: {
      order: ['localStorage', 'navigator'],
      lookupLocalStorage: LANGUAGE_STORAGE_KEY,
      caches: ['localStorage'],
    },
    react: { useSuspense: false },
  })
  .then(() => followDocument(currentLanguage()))

/** The language the app shows now ('en' until another one is loaded). */
export function currentLanguage(): LanguageCode {
  const lng = i18n.resolvedLanguage ?? i18n.language
  return (LANGUAGES.find((l) => l.code === lng)?.code ?? 'en') as LanguageCode
}

export { i18n }
