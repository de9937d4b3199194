/**
 * The library and the download monitor end to end: the built server with LIBRARY_DIR, a local
 * OAuth2 server standing in for Google, headless Chromium. An admin browses and searches the
 * library, links a file with a download limit, a recipient downloads it from the share page; an
 * admin watches a slow download live in Admin → Downloads and stops it.
 */
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs'
import { get, type IncomingMessage } from 'node:http'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CookieJar, signInFlow, startOAuthServer, type FakeGoogleUser, type LocalOAuth } from '../backend/test/support/oauth'
import { startApp, type AppProcess } from './support/app-server'
import { launchBrowser } from './support/browser'
import { sha256File, tempDir } from './support/files'
import { describeViolations, screenshot, seriousA11yViolations } from './support/pages'

const ADMIN: FakeGoogleUser = { sub: 'e2e-librarian', email: 'librarian@example.com', name: 'Librarian', email_verified: true }
const MiB = 2 ** 20

let oauth: LocalOAuth
let app: AppProcess
let browser: Browser
let files: ReturnType<typeof tempDir>
let lib: string
const contexts: BrowserContext[] = []
const clients: IncomingMessage[] = []

async function signIn(user: FakeGoogleUser): Promise<CookieJar> {
  oauth.setUser(user)
  const jar = new CookieJar()
  const { response } = await signInFlow(app.url, jar)
  expect(response.status).toBe(302)
  return jar
}

async function pageAs(jar: CookieJar | null): Promise<Page> {
  const context = await browser.newContext({ bypassCSP: true, acceptDownloads: true, viewport: { width: 1280, height: 900 } })
  contexts.push(context)
  if (jar) await context.addCookies([...jar.cookies].map(([name, value]) => ({ name, value, url: app.url })))
  return context.newPage()
}

beforeAll(async () => {
  files = tempDir('sharesync-e2e-library-')
  lib = join(files.dir, 'nas')
  mkdirSync(join(lib, 'Reports', '2026'), { recursive: true })
  writeFileSync(join(lib, 'Reports', '2026', 'q3-summary.txt'), 'Q3: all good.\n'.repeat(1000))
  writeFileSync(join(lib, 'Reports', '.hidden-notes'), 'not shown')
  // 256 MiB, sparse: a download that lasts while a slow client reads it.
  const fd = openSync(join(lib, 'big-video.mkv'), 'w')
  writeSync(fd, Buffer.from('end'), 0, 3, 256 * MiB - 3)
  closeSync(fd)
  oauth = await startOAuthServer()
  ;[app, browser] = await Promise.all([startApp({ ...oauth.env, ADMIN_EMAILS: ADMIN.email, LIBRARY_DIR: `NAS=${lib}` }), launchBrowser()])
})

afterAll(async () => {
  for (const c of clients) c.destroy()
  for (const c of contexts) await c.close().catch(() => undefined)
  await browser?.close()
  await app?.stop()
  await oauth?.stop()
  files?.remove()
})

describe('library in Chromium', () => {
  it('an admin browses and searches the library, links a file with a download limit, and a recipient downloads it', async () => {
    const admin = await signIn(ADMIN)
    const page = await pageAs(admin)
    await page.goto(`${app.url}/library`)
    await page.getByRole('heading', { name: 'Library' }).waitFor()
    await page.getByRole('button', { name: 'Open folder NAS' }).click()
    await page.getByRole('button', { name: 'Open folder Reports' }).click()
    await expect.poll(() => page.getByTestId('library-table').innerText()).toContain('2026')
    expect(await page.getByTestId('library-table').innerText()).not.toContain('hidden')
    await page.getByRole('searchbox', { name: /Search in NAS\/Reports/ }).fill('q3')
    await page.getByRole('button', { name: 'Search', exact: true }).click()
    await expect.poll(() => page.getByTestId('library-table').innerText()).toContain('NAS/Reports/2026/q3-summary.txt')
    const violations = await seriousA11yViolations(page)
    expect(violations, describeViolations(violations)).toEqual([])

    await page.getByRole('button', { name: 'Share q3-summary.txt' }).click()
    await page.getByTestId('library-info').waitFor()
    await page.getByLabel(/Downloads allowed/).fill('1')
    await page.getByRole('button', { name: 'Create link' }).click()
    const url = await page.getByRole('textbox', { name: 'Link' }).inputValue()
    await screenshot(page, 'library-link-laptop')
    expect(url).toMatch(/\/s\/[A-Za-z0-9_-]{22}$/)

    const recipient = await pageAs(null)
    await recipient.goto(url)
    const [download] = await Promise.all([
      recipient.waitForEvent('download'),
      recipient.getByRole('button', { name: 'Download q3-summary.txt' }).click(),
    ])
    expect(download.suggestedFilename()).toBe('q3-summary.txt')
    const saved = join(files.dir, 'downloaded.txt')
    await download.saveAs(saved)
    expect(await sha256File(saved)).toBe(await sha256File(join(lib, 'Reports', '2026', 'q3-summary.txt')))

    await page.goto(`${app.url}/me`)
    await expect.poll(() => page.getByRole('list', { name: 'My shares' }).innerText()).toContain('Library link')
  })

  it('Admin → Downloads shows a slow download growing live, and Stop ends the client’s connection', async () => {
    const admin = await signIn(ADMIN)
    const created = await fetch(`${app.url}/api/library/links`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: admin.header() },
      body: JSON.stringify({ path: 'NAS/big-video.mkv' }),
    })
    expect(created.status).toBe(201)
    const { id } = (await created.json()) as { id: string }
    const page = await pageAs(admin)
    await page.goto(`${app.url}/admin`)
    await page.getByRole('tab', { name: 'Downloads' }).click()
    await page.getByText('No download is running right now.').waitFor()

    // A client reading 64 KiB every 20 ms (about 3 MiB/s): the download lasts over a minute.
    const redirect = await fetch(`${app.url}/api/shares/${id}/download`, { redirect: 'manual' })
    const ended = new Promise<{ complete: boolean }>((resolve) => {
      get(new URL(redirect.headers.get('location')!, app.url), (res) => {
        clients.push(res)
        res.on('data', () => {
          res.pause()
          setTimeout(() => res.resume(), 20)
        })
        res.on('close', () => resolve({ complete: res.complete }))
      })
    })
    const row = page.getByTestId('active-download').filter({ hasText: 'big-video.mkv' })
    await row.waitFor()
    const bytes = async () => Number((await row.getByTestId('download-bytes').getAttribute('data-bytes')) ?? 0)
    const first = await (async () => {
      await expect.poll(bytes).toBeGreaterThan(0)
      return bytes()
    })()
    await expect.poll(bytes).toBeGreaterThan(first)

    await screenshot(page, 'admin-downloads-laptop')
    await row.getByRole('button', { name: 'Stop the download of big-video.mkv' }).click()
    expect(await ended).toEqual({ complete: false })
    await expect.poll(() => page.getByTestId('finished-downloads').innerText()).toContain('stopped')
    await page.getByText('No download is running right now.').waitFor()
  })
})
