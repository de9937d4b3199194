import type { ElementHandle } from 'puppeteer-core'
import { launchFirefox } from '../../test/support/firefox'
import { mib, rssBytes } from './rss'

/** One upload through the web app in Firefox: its speed, and Firefox's parent process meanwhile. */
export interface FirefoxUpload {
  ms: number
  /** RSS of Firefox's parent process (where it keeps request bodies it intercepted): start, peak, 2 s after the end */
  parentRss: { startMiB: number; peakMiB: number; endMiB: number }
}

/**
 * A plain and an encrypted upload of `path` from Firefox ESR (WebDriver BiDi, its network events
 * off: with them on, Firefox keeps every body for the driver and the figure measures the driver),
 * each from a page the app's service worker controls.
 */
export async function firefoxUploads(base: string, path: string): Promise<Record<'plain' | 'encrypted', FirefoxUpload>> {
  const firefox = await launchFirefox({ network: false })
  const parent = firefox.process()!.pid!
  const rss = () => rssBytes(parent) ?? 0
  const one = async (encrypted: boolean): Promise<FirefoxUpload> => {
    const context = await firefox.createBrowserContext()
    try {
      const page = await context.newPage()
      page.setDefaultTimeout(60_000)
      await page.goto(`${base}/`)
      // (page code as strings: this project's bench types have no DOM)
      await page.waitForFunction('navigator.serviceWorker.ready.then(() => true)')
      await page.reload()
      if (!(await page.evaluate('navigator.serviceWorker.controller !== null'))) throw new Error('Firefox: the page is not controlled by the service worker')
      const input = (await page.waitForSelector('[data-testid=file-input]')) as ElementHandle<never>
      await (input as unknown as { uploadFile(p: string): Promise<void> }).uploadFile(path)
      await page.waitForSelector('::-p-text(Create a link)')
      const box = (await page.waitForSelector('::-p-aria(End-to-end encryption)'))!
      if ((await box.evaluate('(el) => el.checked' as never)) !== encrypted) await box.click()
      const start = rss()
      let peak = start
      const sampler = setInterval(() => (peak = Math.max(peak, rss())), 250)
      const started = performance.now()
      await page.locator('button ::-p-text(Upload and create link)').click()
      await page.waitForSelector('[data-testid=cloud-copy][data-state=done], [data-testid=cloud-copy][data-state=failed]', { timeout: 3_600_000 })
      const ms = performance.now() - started
      const state = await page.evaluate(`document.querySelector('[data-testid=cloud-copy]').dataset.state`)
      await new Promise((r) => setTimeout(r, 2000))
      clearInterval(sampler)
      const end = rss()
      if (state !== 'done') throw new Error(`Firefox: the ${encrypted ? 'encrypted' : 'plain'} upload failed`)
      return { ms, parentRss: { startMiB: mib(start), peakMiB: mib(Math.max(peak, end)), endMiB: mib(end) } }
    } finally {
      await context.close()
    }
  }
  try {
    return { plain: await one(false), encrypted: await one(true) }
  } finally {
    await firefox.close()
  }
}
