/** Page-level helpers for the end-to-end suites: accessibility checks, QR decoding, screenshots. */
import { mkdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import jsQR from 'jsqr'
import type { BrowserContext, Locator, Page } from 'playwright-core'
import { PNG } from 'pngjs'

const require = createRequire(import.meta.url)
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8')

export const SCREENSHOT_DIR = new URL('../screenshots/', import.meta.url).pathname

export const VIEWPORTS = {
  phone: { width: 390, height: 844 },
  laptop: { width: 1280, height: 800 },
} as const

export interface AxeViolation {
  id: string
  impact: string | null
  help: string
  nodes: { target: string[]; failureSummary?: string }[]
}

/**
 * Runs axe-core in the page and returns every violation, of any impact.
 * The page's CSP forbids inline scripts: the browser context must be created with bypassCSP.
 */
export async function a11yViolations(page: Page): Promise<AxeViolation[]> {
  const loaded = await page.evaluate(() => typeof (window as unknown as { axe?: unknown }).axe !== 'undefined')
  if (!loaded) await page.addScriptTag({ content: AXE_SOURCE })
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<{ violations: AxeViolation[] }> } }).axe
    const result = await axe.run(document, { resultTypes: ['violations'] })
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })),
    }))
  })
  return violations
}

/** The violations of serious or critical impact (see `a11yViolations`). */
export async function seriousA11yViolations(page: Page): Promise<AxeViolation[]> {
  return (await a11yViolations(page)).filter((v) => v.impact === 'serious' || v.impact === 'critical')
}

/** A readable one-line-per-node summary for assertion messages. */
export function describeViolations(violations: AxeViolation[]): string {
  return violations.map((v) => `${v.impact} ${v.id}: ${v.help} @ ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`).join('\n')
}

/** Screenshots the element and decodes the QR code in it. */
export async function decodeQr(locator: Locator): Promise<string | null> {
  const png = PNG.sync.read(await locator.screenshot())
  const code = jsQR(new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.byteLength), png.width, png.height)
  return code?.data ?? null
}

/**
 * The person answers "Leave page?" with Leave: the app asks while bytes are moving, and a test that
 * reloads or navigates mid-transfer means it. Other dialogs are dismissed (Playwright's default).
 */
export function leaveWhenAsked(target: Page | BrowserContext): void {
  target.on('dialog', (dialog) => void (dialog.type() === 'beforeunload' ? dialog.accept() : dialog.dismiss()))
}

/** The whole page, or with `{ fullPage: false }` what is on screen (fixed bars where they sit). */
/**
 * Resolves once the page looks as a person would see it: fonts loaded, images decoded, and every
 * transition or animation running now that ever ends has ended (a spinner that turns forever is not
 * waited for). An event to wait on instead of a fixed pause before a screenshot.
 */
export async function settled(page: Page): Promise<void> {
  await page.evaluate(async () => {
    await document.fonts.ready
    await Promise.all(Array.from(document.images).map((img) => img.decode().catch(() => undefined)))
    const ending = document.getAnimations().filter((a) => a.playState === 'running' && a.effect?.getComputedTiming().endTime !== Infinity)
    await Promise.all(ending.map((a) => a.finished.catch(() => undefined)))
  })
}

export async function screenshot(page: Page, name: string, opts: { fullPage?: boolean } = {}): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true })
  const path = join(SCREENSHOT_DIR, `${name}.png`)
  await page.screenshot({ path, fullPage: opts.fullPage ?? true })
  return path
}

/**
 * Records every total-progress percentage the upload page shows (a MutationObserver sees each
 * rendered value, even one that is on screen for a few milliseconds), and the speed and time-left
 * texts. Read with `readPercents` / `readUploadTexts`.
 */
export async function recordUploadPercents(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __percents?: number[]; __uploadTexts?: string[] }
    w.__percents = []
    w.__uploadTexts = []
    const read = () => {
      const el = document.querySelector('[data-testid="upload-percent"]')
      const m = el?.textContent ? /(\d+)\s*%/.exec(el.textContent) : null
      if (m) {
        const n = Number(m[1])
        const list = w.__percents!
        if (list[list.length - 1] !== n) list.push(n)
      }
      for (const id of ['upload-speed', 'upload-eta']) {
        const t = document.querySelector(`[data-testid="${id}"]`)?.textContent
        if (t && !w.__uploadTexts!.includes(`${id}:${t}`)) w.__uploadTexts!.push(`${id}:${t}`)
      }
    }
    new MutationObserver(read).observe(document.body, { subtree: true, childList: true, characterData: true })
  })
}

export function readPercents(page: Page): Promise<number[]> {
  return page.evaluate(() => (window as unknown as { __percents?: number[] }).__percents ?? [])
}

/** "upload-speed:12.3 MB/s", "upload-eta:4 s", … as seen during the upload. */
export function readUploadTexts(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __uploadTexts?: string[] }).__uploadTexts ?? [])
}
