/**
 * Look and accessibility of the cloud-link pages: each page at phone (390x844) and laptop (1280x800)
 * size, light and dark, screenshotted to test/screenshots/ and checked with axe-core (no serious or
 * critical violations).
 */
import type { Browser, FileChooser, Page, Route } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp, type AppProcess } from './support/app-server'
import { launchBrowser } from './support/browser'
import { chooseFiles, submitUpload, waitForResult } from './support/cloud-ui'
import { randomFile, tempDir } from './support/files'
import { describeViolations, screenshot, seriousA11yViolations, settled, VIEWPORTS } from './support/pages'

const MiB = 1024 * 1024
const PART_URL = /\/api\/blobs\/parts\/[^/]+\/(\d+)\?/

let app: AppProcess
let browser: Browser
let files: ReturnType<typeof tempDir>

beforeAll(async () => {
  files = tempDir()
  ;[app, browser] = await Promise.all([
    startApp({ PART_SIZE: '5MiB', UPLOAD_RATE_LIMIT: '1000/1h', SHARE_CREATE_RATE_LIMIT: '1000/1h' }),
    launchBrowser(),
  ])
})

afterAll(async () => {
  await browser?.close()
  await app?.stop()
  files?.remove()
})

async function check(page: Page, name: string) {
  // Transitions and the QR image settle first, so the picture shows what a person sees.
  await settled(page)
  await screenshot(page, name)
  const violations = await seriousA11yViolations(page)
  expect(violations, `${name}:\n${describeViolations(violations)}`).toEqual([])
}

const runs = [
  { name: 'phone', viewport: VIEWPORTS.phone, colorScheme: 'light' as const, mobile: true },
  { name: 'laptop', viewport: VIEWPORTS.laptop, colorScheme: 'light' as const, mobile: false },
  { name: 'laptop-dark', viewport: VIEWPORTS.laptop, colorScheme: 'dark' as const, mobile: false },
]

describe('pages at phone and laptop size, light and dark', () => {
  for (const run of runs) {
    it(`home, upload, result and share pages (${run.name}) have no serious accessibility violations`, async () => {
      const context = await browser.newContext({
        viewport: run.viewport,
        colorScheme: run.colorScheme,
        isMobile: run.mobile,
        hasTouch: run.mobile,
        // axe-core is injected as an inline script, which the app's CSP rightly forbids.
        bypassCSP: true,
        serviceWorkers: 'block',
        acceptDownloads: true,
      })
      try {
        const page = await context.newPage()
        await page.goto(`${app.url}/`)
        await page.getByRole('heading', { name: 'Share files, your way' }).waitFor()
        await check(page, `home-${run.name}`)

        const big = randomFile(files.dir, 'holiday-video.mp4', 12 * MiB)
        const small = randomFile(files.dir, 'boarding pass (final).pdf', 200_000)
        await chooseFiles(page, app.url, [big, small], { maxDownloads: '5', password: 'hunter2' })
        await check(page, `options-${run.name}`)

        // Hold every part but the first, so the page is caught mid-upload.
        const held: Route[] = []
        let passed = 0
        let released = false
        await page.route(PART_URL, async (route) => {
          if (released || passed++ === 0) await route.continue()
          else held.push(route)
        })
        await submitUpload(page)
        await expect
          .poll(async () => Number((await page.getByTestId('upload-percent').textContent())?.replace(/\D/g, '') || 0), { timeout: 30_000 })
          .toBeGreaterThan(0)
        await check(page, `upload-${run.name}`)
        released = true
        await Promise.all(held.map((r) => r.continue()))

        const link = await waitForResult(page)
        await page.getByTestId('qr-code').waitFor()
        await check(page, `result-${run.name}`)

        await page.goto(link)
        await page.getByRole('heading', { name: 'Password required' }).waitFor()
        await check(page, `share-locked-${run.name}`)
        await page.getByLabel('Password', { exact: true }).fill('hunter2')
        await page.getByRole('button', { name: 'Unlock' }).click()
        await page.getByRole('heading', { name: '2 files were shared with you' }).waitFor()
        await check(page, `share-${run.name}`)

        await page.goto(`${app.url}/s/AAAAAAAAAAAAAAAAAAAAAA`)
        await page.getByRole('heading', { name: 'This link has expired or does not exist' }).waitFor()
        await check(page, `gone-${run.name}`)
      } finally {
        await context.close()
      }
    })
  }

  it('keyboard only: Tab reaches "Choose files", it shows focus, and Enter opens the file chooser', async () => {
    const context = await browser.newContext({ viewport: VIEWPORTS.laptop, serviceWorkers: 'block' })
    try {
      const page = await context.newPage()
      // Listening before anything happens turns on file-chooser interception up front.
      const choosers: FileChooser[] = []
      page.on('filechooser', (c) => choosers.push(c))
      await page.goto(`${app.url}/`)
      await page.getByRole('heading', { name: 'Share files, your way' }).waitFor()
      const input = page.getByTestId('file-input')
      let reached = false
      for (let i = 0; i < 10 && !reached; i++) {
        await page.keyboard.press('Tab')
        reached = await input.evaluate((el) => el === document.activeElement)
      }
      expect(reached).toBe(true)
      // The visible "button" is the input's label: it carries the focus ring.
      const outline = await page.locator('label', { hasText: 'Choose files' }).evaluate((el) => getComputedStyle(el).outlineStyle)
      expect(outline).not.toBe('none')
      await page.keyboard.press('Enter')
      await expect.poll(() => choosers.length).toBe(1)
      const chooser = choosers[0]!
      expect(chooser.isMultiple()).toBe(true)
      await chooser.setFiles(randomFile(files.dir, 'typed.txt', 10))
      await page.getByRole('heading', { name: 'Create a link' }).waitFor()
    } finally {
      await context.close()
    }
  })

  it('the theme switch changes light to dark and the choice survives a reload', async () => {
    const context = await browser.newContext({ viewport: VIEWPORTS.phone, colorScheme: 'light', serviceWorkers: 'block' })
    try {
      const page = await context.newPage()
      await page.goto(`${app.url}/`)
      await page.getByRole('heading', { name: 'Share files, your way' }).waitFor()
      const isDark = () => page.evaluate(() => document.documentElement.classList.contains('dark'))
      const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor)
      expect(await isDark()).toBe(false)
      const light = await background()
      await page.getByRole('switch', { name: 'Dark theme' }).click()
      expect(await isDark()).toBe(true)
      expect(await background()).not.toBe(light)
      await page.reload()
      await page.getByRole('heading', { name: 'Share files, your way' }).waitFor()
      expect(await isDark()).toBe(true)
      expect(await page.getByRole('switch', { name: 'Dark theme' }).getAttribute('aria-checked')).toBe('true')
    } finally {
      await context.close()
    }
  })
})
