/**
 * What a person meets around a transfer: leaving the page while bytes are moving asks "Leave page?"
 * first (and no longer once they stopped), and an incoming P2P offer on a phone is a dialog in view,
 * naming the files, with the tab's title saying so until it is answered.
 */
import type { Browser, CDPSession, Dialog, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { formatBytes } from '../frontend/src/lib/format'
import { startApp, type AppProcess } from './support/app-server'
import { launchBrowser } from './support/browser'
import { chooseFiles, submitUpload, waitForResult } from './support/cloud-ui'
import { randomFile, tempDir } from './support/files'
import { enterRoom, send, type Device } from './support/p2p'
import { screenshot, VIEWPORTS } from './support/pages'

const MiB = 1024 * 1024

let app: AppProcess
let browser: Browser
let files: ReturnType<typeof tempDir>

beforeAll(async () => {
  files = tempDir()
  ;[app, browser] = await Promise.all([startApp({ UPLOAD_RATE_LIMIT: '1000/1h', SHARE_CREATE_RATE_LIMIT: '1000/1h' }), launchBrowser()])
})
afterAll(async () => {
  await app?.stop()
  await browser?.close()
  files?.remove()
})

/**
 * Every dialog the page opens, by type. A "Leave page?" is answered Stay or Leave as the test says;
 * the first one seen also resolves `asked`.
 */
function watchDialogs(page: Page) {
  const seen: string[] = []
  let answer: 'stay' | 'leave' = 'stay'
  let resolveAsked: (d: Dialog) => void = () => undefined
  const asked = new Promise<Dialog>((r) => (resolveAsked = r))
  page.on('dialog', (d) => {
    seen.push(d.type())
    resolveAsked(d)
    void (d.type() === 'beforeunload' && answer === 'leave' ? d.accept() : d.dismiss())
  })
  return { seen, asked, answerWith: (a: 'stay' | 'leave') => (answer = a) }
}

/**
 * A reload the page itself starts, as the browser's reload button does: 'beforeunload' when the page
 * asked first (and was told to stay), 'reloaded' when it went away without asking.
 */
async function reloadAnswer(page: Page, asked: Promise<Dialog>): Promise<string> {
  const reloaded = page.waitForEvent('load').then(() => 'reloaded')
  await page.evaluate(() => location.reload())
  return Promise.race([asked.then((d) => d.type()), reloaded])
}

async function uplink(cdp: CDPSession, bytesPerSecond: number) {
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: bytesPerSecond,
  })
}

describe('leaving mid-transfer, and offers on a phone', () => {
  it('a reload during an upload asks "Leave page?" (Stay keeps it going); once the link is ready, or the upload cancelled, a reload does not ask', async () => {
    const context = await browser.newContext({ serviceWorkers: 'block' })
    try {
      const page = await context.newPage()
      const dialogs = watchDialogs(page)
      const cdp = await context.newCDPSession(page)
      // A slow uplink keeps the upload in flight while the test reloads.
      await uplink(cdp, 256 * 1024)
      await chooseFiles(page, app.url, [randomFile(files.dir, 'guarded.bin', 3 * MiB)])
      await submitUpload(page)
      // The title and the guard are set in the same render, once the upload has started.
      await page.waitForFunction(() => document.title.startsWith('Uploading'))
      expect(await reloadAnswer(page, dialogs.asked)).toBe('beforeunload')
      // Stay: the same page goes on uploading.
      await expect.poll(() => page.getByTestId('upload-percent').isVisible()).toBe(true)
      await uplink(cdp, -1)
      await waitForResult(page)

      // Done: a fresh click (the browser only asks pages the person used), then a reload that does not ask.
      dialogs.answerWith('leave')
      await page.getByRole('heading', { name: 'Your link is ready' }).click()
      await page.reload()
      await page.getByRole('heading', { name: 'Your link is ready' }).waitFor()
      expect(dialogs.seen).toEqual(['beforeunload'])

      // Cancelled: the same page stays, with nothing in flight, and a reload does not ask either.
      await uplink(cdp, 256 * 1024)
      await chooseFiles(page, app.url, [randomFile(files.dir, 'cancelled.bin', 3 * MiB)])
      await submitUpload(page)
      await page.waitForFunction(() => document.title.startsWith('Uploading'))
      await page.getByRole('button', { name: 'Cancel upload' }).click()
      await page.getByText('Upload cancelled.').waitFor()
      await page.reload()
      await page.getByTestId('file-input').waitFor({ state: 'attached' })
      expect(dialogs.seen).toEqual(['beforeunload'])
    } finally {
      await context.close()
    }
  })

  it('on a 390×844 phone an offer is a dialog in view naming the files, the title says so until it is accepted with one tap, and a reload mid-transfer asks first', async () => {
    const phone = async (name: string, storage: Record<string, string> = {}): Promise<Device> => {
      const context = await browser.newContext({ viewport: VIEWPORTS.phone, hasTouch: true, isMobile: true, acceptDownloads: true })
      context.setDefaultTimeout(60_000)
      await context.addInitScript(
        (entries: [string, string][]) => {
          for (const [k, v] of entries) localStorage.setItem(k, v)
        },
        Object.entries({ 'sharesync.p2p.name': name, ...storage }),
      )
      const page = await context.newPage()
      const d: Device = { name, context, page, errors: [] }
      page.on('pageerror', (err) => d.errors.push(err.message))
      return d
    }
    // The sender goes slowly (the page's test switch), so the transfer is still running at the reload.
    const [a, b] = await Promise.all([phone('Alice phone', { 'sharesync.p2p.sendRate': String(300_000) }), phone('Bob phone')])
    try {
      const { code } = await enterRoom(app.url, [a, b])
      const dialogs = watchDialogs(b.page)
      const names = ['holiday-1.jpg', 'holiday-2.jpg', 'holiday-3.jpg', 'notes.txt', 'map.pdf', 'song.mp3', 'video.mp4']
      const paths = names.map((n, i) => randomFile(files.dir, n, i === 0 ? 1_000_000 : 1000 + i))
      const total = 1_000_000 + names.slice(1).reduce((s, _, i) => s + 1000 + i + 1, 0)
      await send(a, paths, 'Bob phone')

      const offer = b.page.getByRole('dialog', { name: 'Incoming files from Alice phone' })
      await offer.waitFor()
      await expect.poll(() => b.page.title()).toBe('(1) Incoming files · ShareSync')
      const text = (await offer.textContent()) ?? ''
      for (const n of names.slice(0, 5)) expect(text).toContain(n)
      expect(text).not.toContain(names[5])
      expect(text).toContain('and 2 more')
      expect(text).toContain(formatBytes(total))
      // Focus is in the dialog, and its Accept is on screen without scrolling.
      expect(await b.page.evaluate(() => document.activeElement?.closest('dialog') !== null)).toBe(true)
      const acceptButton = offer.getByRole('button', { name: 'Accept' })
      const box = await acceptButton.evaluate((el) => {
        const r = el.getBoundingClientRect()
        return { top: r.top, bottom: r.bottom, left: r.left, right: r.right, width: innerWidth, height: innerHeight }
      })
      expect(box.top).toBeGreaterThanOrEqual(0)
      expect(box.left).toBeGreaterThanOrEqual(0)
      expect(box.bottom).toBeLessThanOrEqual(box.height)
      expect(box.right).toBeLessThanOrEqual(box.width)
      await screenshot(b.page, 'offer-dialog-phone')

      await acceptButton.tap()
      await expect.poll(() => b.page.title()).toBe(`Room ${code} · ShareSync`)
      expect(await b.page.getByRole('dialog').count()).toBe(0)

      // Receiving: a reload asks first (Stay keeps the transfer going); once done, it does not.
      await b.page.locator('[data-testid=transfer][data-direction=receive][data-phase=active]').waitFor()
      expect(await reloadAnswer(b.page, dialogs.asked)).toBe('beforeunload')
      await b.page.locator('[data-testid=transfer][data-direction=receive][data-phase=completed]').waitFor()
      dialogs.answerWith('leave')
      await b.page.getByRole('heading', { name: `Room ${code}` }).tap()
      await b.page.reload()
      await b.page.getByRole('heading', { name: `Room ${code}` }).waitFor()
      expect(dialogs.seen).toEqual(['beforeunload'])
      expect([...a.errors, ...b.errors]).toEqual([])
    } finally {
      await Promise.all([a.context.close(), b.context.close()])
    }
  })
})
