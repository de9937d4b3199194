/**
 * Keyboard focus is visible and the pages pass axe: Tab through the home, share, result, room and
 * admin pages in light and dark, and every focused control shows an outline at least 2 px wide whose
 * colour has at least 3:1 contrast with the background behind it (read from computed styles); axe-core
 * finds no violation of any impact on each page. The room page has an h1. The pages show a share of
 * two files with a download limit: the rule of such limits reads the same on each.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp, type AppProcess } from './support/app-server'
import { launchBrowser } from './support/browser'
import { chooseFiles, submitUpload, waitForResult } from './support/cloud-ui'
import { randomFile, tempDir } from './support/files'
import { a11yViolations, describeViolations, screenshot, VIEWPORTS } from './support/pages'

/** The admin dashboard's other tabs (Overview is where it opens). */
const ADMIN_TABS = ['Shares', 'Users', 'Downloads', 'Notifications', 'Settings', 'Audit log']
const BOOTSTRAP = /\/api\/auth\/bootstrap\?token=[A-Za-z0-9_-]+/

let app: AppProcess
let browser: Browser
const files = tempDir()
/** Signed in as admin (the one-time link the server prints without Google sign-in). */
let admin: BrowserContext
let page: Page
let shareUrl: string
let resultUrl: string
/** The download-limit rule as the upload options worded it. */
let optionsRule: string | null

beforeAll(async () => {
  ;[app, browser] = await Promise.all([startApp(), launchBrowser()])
  // The banner (with the link) is printed once the server listens, which the health check saw.
  for (let i = 0; i < 100 && !BOOTSTRAP.test(app.output()); i++) await new Promise((r) => setTimeout(r, 100))
  const adminLink = BOOTSTRAP.exec(app.output())![0]
  // bypassCSP: axe-core is injected as an inline script.
  admin = await browser.newContext({ bypassCSP: true, viewport: VIEWPORTS.laptop })
  page = await admin.newPage()
  await chooseFiles(page, app.url, [randomFile(files.dir, 'report.pdf', 2000), randomFile(files.dir, 'figures.csv', 500)], {
    maxDownloads: '5',
  })
  optionsRule = await page.getByTestId('download-rule').textContent()
  await submitUpload(page)
  shareUrl = await waitForResult(page)
  resultUrl = page.url()
  await page.goto(`${app.url}${adminLink}`)
  await page.waitForURL(/\/admin$/)
})
afterAll(async () => {
  await admin?.close()
  await browser?.close()
  await app?.stop()
  files.remove()
})

interface Ring {
  key: string
  what: string
  width: number
  style: string
  contrast: number
}

/** The focused element's outline and its contrast with the nearest opaque background up the tree. */
function focusedRing(page: Page): Promise<Ring | null> {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null
    if (!el || el === document.body) return null
    // Any CSS colour (Tailwind's are oklch) to [r, g, b, a] through a canvas pixel.
    const ctx = document.createElement('canvas').getContext('2d', { willReadFrequently: true })!
    const rgb = (c: string) => {
      ctx.clearRect(0, 0, 1, 1)
      ctx.fillStyle = c
      ctx.fillRect(0, 0, 1, 1)
      const [r, g, b, a] = ctx.getImageData(0, 0, 1, 1).data
      return [r!, g!, b!, a! / 255]
    }
    const lum = ([r = 0, g = 0, b = 0]: number[]) => {
      const f = (v: number) => {
        const s = v / 255
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4
      }
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b)
    }
    // Buttons transition their outline colour (150 ms): read the colour it settles on.
    for (const a of el.getAnimations()) a.finish()
    const s = getComputedStyle(el)
    let bg = [255, 255, 255]
    for (let n: HTMLElement | null = el.parentElement; n; n = n.parentElement) {
      const c = rgb(getComputedStyle(n).backgroundColor)
      if (c[3]! > 0.5) {
        bg = c
        break
      }
      if (n === document.documentElement) bg = document.documentElement.classList.contains('dark') ? [2, 6, 23] : [255, 255, 255]
    }
    const [l1, l2] = [lum(rgb(s.outlineColor)), lum(bg)].sort((a, b) => b - a)
    const label = (el.getAttribute('aria-label') ?? el.textContent ?? '').trim().slice(0, 40)
    const path: string[] = []
    for (let n: Element | null = el; n && n !== document.body; n = n.parentElement)
      path.unshift(`${n.tagName}${Array.prototype.indexOf.call(n.parentElement!.children, n)}`)
    return {
      key: path.join('>'),
      what: `${el.tagName.toLowerCase()} "${label}" (${s.outlineColor} on rgb(${bg.join(', ')}))`,
      width: parseFloat(s.outlineWidth),
      style: s.outlineStyle,
      contrast: (l1! + 0.05) / (l2! + 0.05),
    }
  })
}

/** Tabs forward until focus comes back round to the first control (or `max` presses). */
async function tabThrough(page: Page, max = 60): Promise<Ring[]> {
  const rings: Ring[] = []
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab')
    const ring = await focusedRing(page)
    if (!ring) continue
    if (rings[0]?.key === ring.key) break
    rings.push(ring)
  }
  return rings
}

/** Every problem a keyboard or screen-reader user would meet on the page, as readable lines. */
async function problemsOn(page: Page, name: string): Promise<string[]> {
  const problems: string[] = []
  const rings = await tabThrough(page)
  if (rings.length < 2) problems.push(`${name}: only ${rings.length} focusable control(s) reached by Tab`)
  for (const ring of rings) {
    if (ring.style === 'none' || ring.width < 2 || ring.contrast < 3)
      problems.push(`${name}: ${ring.what} ring ${ring.style} ${ring.width}px ${ring.contrast.toFixed(2)}:1`)
  }
  const violations = await a11yViolations(page)
  if (violations.length) problems.push(`${name}: axe\n${describeViolations(violations)}`)
  return problems
}

describe('keyboard focus and accessibility on the pages a new user meets', () => {
  it('home, share, result, room and admin pages, light and dark: every focused control shows a ring ≥ 2 px with ≥ 3:1 contrast, and axe finds no violation at all', async () => {
    const problems: string[] = []
    for (const colorScheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme })
      const visit = async (name: string, url: string, ready: () => Promise<unknown>) => {
        await page.goto(url)
        await ready()
        // The header has settled (signed in by the admin link above).
        await page.getByRole('button', { name: /^Account:/ }).waitFor()
        problems.push(...(await problemsOn(page, `${name} (${colorScheme})`)))
      }
      await visit('home', `${app.url}/`, () => page.getByRole('heading', { level: 1 }).first().waitFor())
      await visit('share', shareUrl, () => page.getByRole('button', { name: 'Download all' }).waitFor())
      await visit('result', resultUrl, () => page.getByRole('heading', { name: 'Your link is ready' }).waitFor())
      await visit('admin', `${app.url}/admin`, () => page.getByTestId('total-uploads').waitFor())
      for (const tab of ADMIN_TABS) {
        await page.getByRole('tab', { name: tab }).click()
        await page.getByRole('tabpanel').getByRole('heading').first().waitFor()
        await page.waitForLoadState('networkidle')
        problems.push(...(await problemsOn(page, `admin ${tab} (${colorScheme})`)))
      }
      await visit('p2p', `${app.url}/p2p`, () => page.getByRole('heading', { level: 1 }).first().waitFor())
      // In a room: a heading names it.
      await page
        .getByRole('button', { name: /create a room|start a room/i })
        .first()
        .click()
      await page.getByRole('heading', { level: 1, name: /^Room [A-Z0-9]{6}$/ }).waitFor()
      problems.push(...(await problemsOn(page, `room (${colorScheme})`)))
      await screenshot(page, `room-focus-1280x800-${colorScheme}`)
    }
    expect(problems.join('\n')).toBe('')
  })

  it('a download limit on a share of two files is explained in the same words in the upload options, on the share page and in the admin', async () => {
    const rule = 'one download is all 2 files: get them in one visit'
    expect(optionsRule).toBe(rule)
    await page.goto(shareUrl)
    await expect.poll(() => page.getByTestId('download-rule').textContent()).toBe(` · ${rule}`)
    await page.goto(`${app.url}/admin`)
    await page.getByRole('tab', { name: 'Shares' }).click()
    await expect.poll(() => page.getByTestId('shares-table').getByTestId('download-rule').textContent()).toBe(rule)
  })
})
