/**
 * Keyboard focus is visible: Tab through the home and room pages in light and dark, and every
 * focused control shows an outline at least 2 px wide whose colour has at least 3:1 contrast with
 * the page background (read from computed styles). The room page has an h1.
 */
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp, type AppProcess } from './support/app-server'
import { launchBrowser } from './support/browser'
import { screenshot, VIEWPORTS } from './support/pages'

let app: AppProcess
let browser: Browser
beforeAll(async () => {
  ;[app, browser] = await Promise.all([startApp(), launchBrowser()])
})
afterAll(async () => {
  await browser?.close()
  await app?.stop()
})

interface Ring {
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
    return {
      what: `${el.tagName.toLowerCase()} "${(el.getAttribute('aria-label') ?? el.textContent ?? '').trim().slice(0, 40)}" (${s.outlineColor} on rgb(${bg.join(', ')}))`,
      width: parseFloat(s.outlineWidth),
      style: s.outlineStyle,
      contrast: (l1! + 0.05) / (l2! + 0.05),
    }
  })
}

async function tabThrough(page: Page, max = 25): Promise<Ring[]> {
  const rings: Ring[] = []
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab')
    const ring = await focusedRing(page)
    if (ring) rings.push(ring)
  }
  return rings
}

describe('a visible keyboard focus ring', () => {
  for (const colorScheme of ['light', 'dark'] as const) {
    it(`on the home and room pages (${colorScheme}): every focused control shows a ring ≥ 2 px with ≥ 3:1 contrast`, async () => {
      const context = await browser.newContext({ viewport: VIEWPORTS.laptop, colorScheme })
      try {
        const page = await context.newPage()
        for (const path of ['/', '/p2p']) {
          await page.goto(`${app.url}${path}`)
          await page.locator('h1').first().waitFor()
          const rings = await tabThrough(page)
          expect(rings.length, path).toBeGreaterThan(2)
          for (const ring of rings) {
            expect(ring.style, `${path} ${ring.what}`).not.toBe('none')
            expect(ring.width, `${path} ${ring.what}`).toBeGreaterThanOrEqual(2)
            expect(ring.contrast, `${path} ${ring.what}`).toBeGreaterThanOrEqual(3)
          }
        }
        // In a room: a heading names it.
        await page.getByRole('button', { name: /create a room|start a room/i }).first().click()
        await page.getByRole('heading', { level: 1, name: /^Room [A-Z0-9]{6}$/ }).waitFor()
        await page.keyboard.press('Tab')
        await screenshot(page, `room-focus-1280x800-${colorScheme}`)
      } finally {
        await context.close()
      }
    })
  }
})
