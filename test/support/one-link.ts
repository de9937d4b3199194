/**
 * Driving a one-link share (home page → result page that serves the link directly) and its share
 * page the way people do: the sender's page, a recipient's page, what arrives, the receipts.
 */
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { expect } from 'vitest'
import { chooseFiles, submitUpload, type LinkOptions } from './cloud-ui'
import { sha256File } from './files'
import { leaveWhenAsked } from './pages'

export interface OneLinkOptions extends LinkOptions {
  /** "Keep a copy in the cloud" (on by default) */
  copy?: boolean
  encrypted?: boolean
}

export async function person(browser: Browser, contexts: BrowserContext[], opts: { init?: string } = {}): Promise<Page> {
  const context = await browser.newContext({ acceptDownloads: true })
  context.setDefaultTimeout(30_000)
  contexts.push(context)
  leaveWhenAsked(context)
  if (opts.init) await context.addInitScript(opts.init)
  return context.newPage()
}

/** Home → files and options → the result page at once; returns the link, once this page hosts it. */
export async function sendWithOneLink(page: Page, baseUrl: string, paths: string[], opts: OneLinkOptions = {}): Promise<string> {
  await chooseFiles(page, baseUrl, paths, opts)
  if (opts.copy === false) await page.getByLabel('Keep a copy in the cloud').uncheck()
  if (opts.encrypted) await page.getByLabel('End-to-end encryption').check()
  await submitUpload(page)
  await page.waitForURL(/\/links\//)
  await page.locator('[data-testid=host-line][data-hosting=yes]').waitFor()
  const url = await page.getByTestId('share-url').inputValue()
  expect(url).toMatch(/\/s\/[A-Za-z0-9_-]{22,}/)
  return url
}

export async function cloudCopyStored(page: Page): Promise<void> {
  await page.locator('[data-testid=cloud-copy][data-state=done]').waitFor({ timeout: 60_000 })
}

/** The path the recipient's share page settled on (direct, relay, cloud, offline). */
export async function settledPath(page: Page, timeout = 30_000): Promise<string> {
  const line = page.locator('[data-testid=path-line]:not([data-path=connecting]):not([data-path=waiting])')
  await line.waitFor({ timeout })
  return (await line.getAttribute('data-path'))!
}

/** Clicks a download button and returns the SHA-256 of what the browser saved, and its name. */
export async function downloadOne(page: Page, button: string, dir: string): Promise<{ sha: string; name: string }> {
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 60_000 }), page.getByRole('button', { name: button }).click()])
  const saved = join(dir, `got-${Date.now()}-${Math.random().toString(36).slice(2)}`)
  await download.saveAs(saved)
  return { sha: await sha256File(saved), name: download.suggestedFilename() }
}

/** The sender's receipts as [path, status, percent]. */
export async function receipts(page: Page): Promise<string[][]> {
  return page
    .getByTestId('receipt')
    .evaluateAll((rows) => rows.map((r) => [r.getAttribute('data-path') ?? '', r.getAttribute('data-status') ?? '', r.getAttribute('data-percent') ?? '']))
}
