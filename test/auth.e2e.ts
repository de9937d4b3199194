/**
 * Accounts end to end: the built server, a real OAuth2/OIDC server on loopback standing in for
 * Google, and the web app in headless Chromium — sign in through the UI, upload, see the share in
 * "My shares", delete it, sign out; claim a link made before signing in; the admin bootstrap link.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { OAuth2Server } from 'oauth2-mock-server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp, type AppProcess } from './support/app-server'
import { launchBrowser } from './support/browser'
import { createLink } from './support/cloud-ui'
import { randomFile, tempDir } from './support/files'
import { describeViolations, seriousA11yViolations } from './support/pages'

let oauth: OAuth2Server
let app: AppProcess
let browser: Browser
let files: ReturnType<typeof tempDir>
const contexts: BrowserContext[] = []
let googleUser = { sub: 'e2e-ada', email: 'ada@example.com', name: 'Ada Lovelace', email_verified: true }

async function newPage(): Promise<Page> {
  // bypassCSP: axe-core is injected as an inline script for the accessibility check.
  const context = await browser.newContext({ bypassCSP: true })
  contexts.push(context)
  return context.newPage()
}

/** What the page's own session says (cookie included), as the web app sees it. */
async function meStatus(page: Page): Promise<number> {
  return page.evaluate(async () => (await fetch('/api/me')).status)
}

async function signInThroughUi(page: Page): Promise<void> {
  await page.goto(`${app.url}/`)
  await page.getByRole('link', { name: 'Sign in', exact: true }).click()
  // Google (here: the local OAuth2 server) sends the browser straight back; the header shows the account.
  await page.getByRole('button', { name: `Account: ${googleUser.name}` }).waitFor()
  expect(new URL(page.url()).pathname).toBe('/')
}

async function openMyShares(page: Page): Promise<void> {
  await page.getByRole('button', { name: `Account: ${googleUser.name}` }).click()
  await page.getByRole('menuitem', { name: 'My shares' }).click()
  await page.getByRole('heading', { name: 'My shares', level: 1 }).waitFor()
}

beforeAll(async () => {
  files = tempDir()
  oauth = new OAuth2Server()
  await oauth.issuer.keys.generate('RS256')
  await oauth.start(0, '127.0.0.1')
  oauth.service.on('beforeUserinfo', (res: { body: unknown }) => {
    res.body = googleUser
  })
  const issuer = `http://127.0.0.1:${oauth.address().port}`
  ;[app, browser] = await Promise.all([
    startApp({
      GOOGLE_CLIENT_ID: 'e2e-client',
      GOOGLE_CLIENT_SECRET: 'e2e-secret',
      GOOGLE_AUTH_URL: `${issuer}/authorize`,
      GOOGLE_TOKEN_URL: `${issuer}/token`,
      GOOGLE_USERINFO_URL: `${issuer}/userinfo`,
      UPLOAD_RATE_LIMIT: '1000/1h',
    }),
    launchBrowser(),
  ])
})

afterAll(async () => {
  await Promise.all(contexts.map((c) => c.close().catch(() => undefined)))
  await browser?.close()
  await app?.stop()
  await oauth?.stop()
  files?.remove()
})

describe('accounts in the browser', () => {
  it('sign in through the UI, upload, see the share in My shares, delete it, sign out', async () => {
    googleUser = { sub: 'e2e-ada', email: 'ada@example.com', name: 'Ada Lovelace', email_verified: true }
    const page = await newPage()
    await signInThroughUi(page)
    expect(await meStatus(page)).toBe(200)

    const path = randomFile(files.dir, 'quarterly-report.pdf', 300_000)
    const link = await createLink(page, app.url, [path])
    const id = link.split('/s/')[1]!

    await openMyShares(page)
    const row = page.getByRole('region', { name: 'quarterly-report.pdf' })
    await row.waitFor()
    await expect.poll(async () => row.textContent()).toContain('300 kB')
    expect(await row.textContent()).toContain('Downloads0')
    const violations = await seriousA11yViolations(page)
    expect(violations, describeViolations(violations)).toEqual([])

    await row.getByRole('button', { name: 'Delete' }).click()
    await row.getByRole('button', { name: 'Delete for good' }).click()
    await row.waitFor({ state: 'detached' })
    await page.getByText('You have no shares yet.').waitFor()
    expect((await fetch(`${app.url}/api/shares/${id}`)).status).toBe(404)

    await page.getByRole('button', { name: `Account: ${googleUser.name}` }).click()
    await page.getByRole('menuitem', { name: 'Sign out' }).click()
    await page.getByRole('link', { name: 'Sign in', exact: true }).waitFor()
    expect(await meStatus(page)).toBe(401)
  })

  it('a refused sign-in (unverified Google email) explains itself and signs no one in', async () => {
    googleUser = { sub: 'e2e-mallory', email: 'mallory@example.com', name: 'Mallory', email_verified: false }
    const page = await newPage()
    await page.goto(`${app.url}/`)
    await page.getByRole('link', { name: 'Sign in', exact: true }).click()
    await page.getByRole('alert').filter({ hasText: 'verified email address' }).waitFor()
    expect(await meStatus(page)).toBe(401)
    // Trying again does not carry the old error back.
    const retry = (await page.getByRole('link', { name: 'Sign in', exact: true }).getAttribute('href')) ?? ''
    expect(new URL(retry, app.url).searchParams.get('returnTo')).toBe('/')
    await page.getByRole('button', { name: 'Dismiss' }).click()
    await expect.poll(() => page.getByRole('alert').count()).toBe(0)
  })

  it('a link made before signing in, in the same browser, can be added to My shares', async () => {
    googleUser = { sub: 'e2e-grace', email: 'grace@example.com', name: 'Grace Hopper', email_verified: true }
    const page = await newPage()
    const path = randomFile(files.dir, 'before-sign-in.txt', 1000)
    await createLink(page, app.url, [path])
    await signInThroughUi(page)
    await openMyShares(page)
    await page.getByRole('button', { name: 'Add to my shares' }).click()
    await page.getByText('1 link was added to your account.').waitFor()
    await page.getByRole('region', { name: 'before-sign-in.txt' }).waitFor()
    await expect.poll(() => page.getByRole('button', { name: 'Add to my shares' }).count()).toBe(0)
  })
})

describe('admin bootstrap', () => {
  it('without Google, the link printed at startup signs the operator in as admin, once', async () => {
    const plain = await startApp()
    try {
      await expect.poll(() => /\/api\/auth\/bootstrap\?token=[A-Za-z0-9_-]+/.test(plain.output()), { timeout: 10_000 }).toBe(true)
      const linkPath = /\/api\/auth\/bootstrap\?token=[A-Za-z0-9_-]+/.exec(plain.output())![0]
      const page = await newPage()
      // Google is not configured here: the header offers no sign-in.
      await page.goto(`${plain.url}/`)
      await page.waitForLoadState('networkidle')
      expect(await page.getByRole('link', { name: 'Sign in' }).count()).toBe(0)
      await page.goto(`${plain.url}${linkPath}`)
      expect(new URL(page.url()).pathname).toBe('/admin')
      const me = await page.evaluate(async () => (await fetch('/api/me')).json() as Promise<{ email: string; role: string }>)
      expect(me).toMatchObject({ email: 'admin@localhost', role: 'admin' })
      await page.goto(`${plain.url}/`)
      await page.getByRole('button', { name: /^Account:/ }).waitFor()
      const again = await fetch(`${plain.url}${linkPath}`, { redirect: 'manual' })
      expect(again.status).toBe(403)
    } finally {
      await plain.stop()
    }
  })
})
