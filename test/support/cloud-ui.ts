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

/** Waits for the result page and returns the share link it shows. */
export async function waitForResult(page: Page, timeout = 120_000): Promise<string> {
  await page.waitForURL(/\/links\//, { timeout })
  await page.getByRole('heading', { name: 'Your link is ready' }).waitFor()
  const url = await page.getByTestId('share-url').inputValue()
  expect(url).toMatch(/\/s\/[A-Za-z0-9_-]{22,}$/)
  return url
}

export async function createLink(page: Page, baseUrl: string, paths: string[], opts: LinkOptions = {}): Promise<string> {
  await chooseFiles(page, baseUrl, paths, opts)
  await submitUpload(page)
  return waitForResult(page)
}
