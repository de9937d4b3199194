/**
 * The app in German and in Chinese, as a browser set to that language opens it: the home, result
 * (after a small upload), share, room and admin pages show no English word in their visible text or
 * in the labels a screen reader reads, `<html lang>` follows the language, nothing is wider than a
 * phone's screen (long German words), and each page is screenshotted at 1280x800 and 390x844 to
 * test/screenshots/i18n-*.png. The language menu's choice is remembered across a reload.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signInFlow, startOAuthServer, CookieJar, type FakeGoogleUser, type LocalOAuth } from '../backend/test/support/oauth'
import en from '../frontend/src/i18n/locales/en.json'
import de from '../frontend/src/i18n/locales/de.json'
import zh from '../frontend/src/i18n/locales/zh-CN.json'
import { startApp, type AppProcess } from './support/app-server'
import { launchBrowser } from './support/browser'
import { randomFile, tempDir } from './support/files'
import { screenshot, VIEWPORTS } from './support/pages'

type Tree = { [key: string]: string | Tree }

const ROOT: FakeGoogleUser = { sub: 'i18n-root', email: 'root@example.com', name: 'Root', email_verified: true }

/** Brand and technical words that are the same in every language. */
const SAME_EVERYWHERE = new Set(
  ['ShareSync', 'QR', 'P2P', 'WebRTC', 'curl', 'URL', 'API', 'ZIP', 'PDF', 'JSON', 'TURN', 'UTC', 'http', 'https', 'localhost', 'Ctrl', 'Google', 'Markdown', 'Wi', 'Fi', 'Linux', 'Chrome', 'HeadlessChrome', 'Chromium'].map((w) =>
    w.toLowerCase(),
  ),
)
/** Common English words, in case an untranslated text uses a word the English locale does not. */
const COMMON_ENGLISH = 'the a an of to and in is are for this that with you your on not be or by at from it as can will no yes all more file files link share page room send open upload download'.split(' ')

function words(tree: Tree): Set<string> {
  const out = new Set<string>()
  const walk = (t: Tree) => {
    for (const v of Object.values(t)) {
      if (typeof v === 'string') for (const w of v.replace(/\{\{[^}]*\}\}|<\/?\d+>/g, ' ').match(/[A-Za-z]{2,}/g) ?? []) out.add(w.toLowerCase())
      else walk(v)
    }
  }
  walk(tree)
  return out
}

const ENGLISH = new Set([...words(en as Tree), ...COMMON_ENGLISH])

/** English words that `locale` does not use itself: what must not appear on its pages. */
function foreignTo(locale: Tree): (word: string) => boolean {
  const own = words(locale)
  return (w) => {
    const l = w.toLowerCase()
    return ENGLISH.has(l) && !own.has(l) && !SAME_EVERYWHERE.has(l)
  }
}

/**
 * Every visible text of the page and the accessible labels of visible elements (aria-label, title,
 * placeholder, alt), without the language menu (each language's own name, by design) and without
 * what the user typed or chose (file names, e-mail addresses, links).
 */
async function shownText(page: Page): Promise<string> {
  const text = await page.evaluate(() => {
    const out: string[] = []
    const menu = document.querySelector('[data-language-menu]')
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT | NodeFilter.SHOW_ELEMENT)
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      if (menu?.contains(n)) continue
      if (n instanceof Text) {
        const parent = n.parentElement
        if (parent && parent.checkVisibility({ visibilityProperty: true }) && !parent.closest('script,style,[data-testid="share-url"]')) out.push(n.data)
      } else if (n instanceof Element && n.checkVisibility({ visibilityProperty: true })) {
        for (const a of ['aria-label', 'title', 'placeholder', 'alt']) {
          const v = n.getAttribute(a)
          if (v) out.push(v)
        }
      }
    }
    return out.join(' \n ')
  })
  return text.replace(/\S+@\S+|https?:\/\/\S+|[\w()-]+\.(txt|pdf|png|jpg)\b/gi, ' ')
}

async function expectNoEnglish(page: Page, locale: Tree, where: string) {
  const foreign = foreignTo(locale)
  const left = [...new Set((await shownText(page)).match(/[A-Za-z]{2,}/g) ?? [])].filter(foreign)
  expect(left, `${where}: English words left on the page`).toEqual([])
}

/** Screenshots at laptop and phone size; at phone size nothing is wider than the screen. */
async function shoot(page: Page, name: string) {
  await page.setViewportSize(VIEWPORTS.laptop)
  await screenshot(page, `i18n-${name}-1280x800`)
  await page.setViewportSize(VIEWPORTS.phone)
  // Charts follow the new width a frame later: wait for the layout to settle within the screen.
  await expect
    .poll(() => page.evaluate(() => document.documentElement.scrollWidth), { message: `${name} at 390 px is wider than the screen` })
    .toBeLessThanOrEqual(VIEWPORTS.phone.width)
  await screenshot(page, `i18n-${name}-390x844`)
  await page.setViewportSize(VIEWPORTS.laptop)
}

let oauth: LocalOAuth
let app: AppProcess
let browser: Browser
let files: ReturnType<typeof tempDir>
const jar = new CookieJar()
const contexts: BrowserContext[] = []

beforeAll(async () => {
  files = tempDir()
  oauth = await startOAuthServer()
  ;[app, browser] = await Promise.all([startApp({ ...oauth.env, ADMIN_EMAILS: ROOT.email, UPLOAD_RATE_LIMIT: '1000/1h' }), launchBrowser()])
  oauth.setUser(ROOT)
  await signInFlow(app.url, jar)
})

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined)
  await browser?.close()
  await app?.stop()
  await oauth?.stop()
  files?.remove()
})

/** A signed-in admin's browser whose language is `locale` (navigator.language: nothing chosen yet). */
async function browserIn(locale: string): Promise<Page> {
  const context = await browser.newContext({ locale, viewport: VIEWPORTS.laptop, serviceWorkers: 'block' })
  contexts.push(context)
  await context.addCookies([...jar.cookies].map(([name, value]) => ({ name, value, url: app.url })))
  await context.addInitScript(() => localStorage.setItem('sharesync.p2p.name', 'Mareike'))
  return context.newPage()
}

const languages = [
  { code: 'de', locale: 'de-DE', messages: de as Tree, file: 'bericht.txt' },
  { code: 'zh-CN', locale: 'zh-CN', messages: zh as Tree, file: 'baogao.txt' },
] as const

describe('the app in another language', () => {
  for (const lang of languages) {
    it(`in ${lang.code}: home, result, share, room and admin pages show no English word and fit a phone`, async () => {
      const page = await browserIn(lang.locale)
      const m = lang.messages as unknown as typeof de
      await page.goto(`${app.url}/`)
      await page.getByRole('heading', { name: m.home.heading }).waitFor()
      expect(await page.evaluate(() => document.documentElement.lang)).toBe(lang.code)
      await expectNoEnglish(page, lang.messages, 'home')
      await shoot(page, `${lang.code}-home`)

      await page.getByTestId('file-input').setInputFiles(randomFile(files.dir, lang.file, 2000))
      await page.getByRole('button', { name: m.upload.submit }).click()
      await page.waitForURL(/\/links\//)
      await page.getByRole('heading', { name: m.result.heading }).waitFor()
      await expectNoEnglish(page, lang.messages, 'result')
      await shoot(page, `${lang.code}-result`)

      const link = await page.getByTestId('share-url').inputValue()
      await page.goto(link)
      await page.getByRole('heading', { name: m.share.heading_one }).waitFor()
      await expectNoEnglish(page, lang.messages, 'share')
      await shoot(page, `${lang.code}-share`)

      await page.goto(`${app.url}/p2p`)
      await page.getByRole('button', { name: m.room.create }).click()
      await page.getByTestId('room-code').waitFor()
      await expectNoEnglish(page, lang.messages, 'room')
      await shoot(page, `${lang.code}-room`)

      await page.goto(`${app.url}/admin`)
      await page.getByTestId('total-uploads').waitFor()
      await expect.poll(() => page.getByTestId('feed-status').innerText()).toBe(m.admin.connected)
      await expectNoEnglish(page, lang.messages, 'admin')
      await shoot(page, `${lang.code}-admin`)
    })
  }

  it('the language menu switches the page at once, and the choice survives a reload', async () => {
    const page = await browserIn('de-DE')
    await page.goto(`${app.url}/`)
    await page.getByRole('heading', { name: de.home.heading }).waitFor()
    await page.getByRole('combobox', { name: de.layout.language }).selectOption('fr')
    await page.getByRole('heading', { name: 'Partagez vos fichiers, à votre façon' }).waitFor()
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('fr')
    await page.reload()
    await page.getByRole('heading', { name: 'Partagez vos fichiers, à votre façon' }).waitFor()
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('fr')
  })
})
