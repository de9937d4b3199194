/** Driving the cloud-link pages the way a person does: pick files, set options, read the result. */
import { expect } from 'vitest'
import type { Page } from 'playwright-core'

export interface LinkOptions {
  maxDownloads?: 'unlimited' | '1' | '5' | '10'
  password?: string
}

/** Home -> pick files -> options. Leaves the page on the options form, not yet submitted. */
export async function chooseFiles(page: Page, baseUrl: string, paths: string[], opts: LinkOptions = {}): Promise<void> {
  await page.goto(`${baseUrl}/`)
  await page.getByTestId('file-input').setInputFiles(paths)
  await page.getByRole('heading', { name: 'Create a link' }).waitFor()
  if (opts.maxDownloads) await page.getByLabel('Downloads allowed').selectOption(opts.maxDownloads)
  if (opts.password) await page.getByLabel('Password (optional)').fill(opts.password)
}

export async function submitUpload(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Upload and create link' }).click()
}

/**
 * Waits for the result page (it opens at once) and for its cloud copy to be stored, and returns
 * the share link it shows.
 */
export async function waitForResult(page: Page, timeout = 120_000): Promise<string> {
  await page.waitForURL(/\/links\//, { timeout })
  await page.getByRole('heading', { name: 'Your link is ready' }).waitFor()
  // (a text, or a page opened again without the files, has no upload to wait for)
  await page.waitForFunction(() => !['uploading', 'failed', 'cancelled'].includes(document.querySelector('[data-testid=cloud-copy]')?.getAttribute('data-state') ?? ''), null, { timeout })
  const url = await page.getByTestId('share-url').inputValue()
  expect(url).toMatch(/\/s\/[A-Za-z0-9_-]{22,}$/)
  return url
}

/**
 * The sender leaves the link's page (to the home page, in the app): the link is then served by its
 * cloud copy only, as when the sender has closed the page — the cloud path of a one-link share.
 */
export async function leaveResult(page: Page): Promise<void> {
  await page.getByRole('link', { name: 'Share more files' }).click()
  await page.waitForURL((u) => u.pathname === '/')
}

export async function createLink(page: Page, baseUrl: string, paths: string[], opts: LinkOptions = {}): Promise<string> {
  await chooseFiles(page, baseUrl, paths, opts)
  await submitUpload(page)
  return waitForResult(page)
}
