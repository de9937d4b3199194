/**
 * The pages of a signed-in account in the browser (headless Chromium, the built app), signed in
 * with a generic OIDC provider's button. One server and one browser for both, as each file costs a
 * server and a browser start in CI:
 * - API tokens: make a token from the account menu, use it from a script, download the ShareX
 *   uploader made from it, revoke it (then 401).
 * - File requests: a requester makes a request link with a 10 MB limit; someone without an account
 *   opens it in another browser context, is told clearly that 11 MB is too much (before anything is
 *   sent; the API refuses it too, see backend/test/file-requests.test.ts), sends 2 MB instead; the
 *   requester sees the file arrive and turns it into a share whose download is the same bytes.
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { Browser, BrowserContext, BrowserContextOptions } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp, type AppProcess } from './support/app-server'
import { launchBrowser } from './support/browser'
import { startSso, type LocalSso, type SsoPerson } from './support/oidc'

const MB = 1_000_000
const GRACE: SsoPerson = { sub: 'kc-grace', email: 'grace@example.com', name: 'Grace Hopper' }
const ADA: SsoPerson = { sub: 'kc-ada', email: 'ada@example.com', name: 'Ada Lovelace' }

let sso: LocalSso
let app: AppProcess
let browser: Browser
const contexts: BrowserContext[] = []

async function newContext(options: BrowserContextOptions = {}): Promise<BrowserContext> {
  const context = await browser.newContext(options)
  contexts.push(context)
  return context
}

beforeAll(async () => {
  sso = await startSso()
  ;[app, browser] = await Promise.all([startApp(sso.env), launchBrowser()])
})
afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined)
  await browser?.close()
  await app?.stop()
  await sso?.stop()
})

describe('signed out', () => {
  it('My shares, API tokens and File requests each say why to sign in, offer the server\'s own provider, and its sign-in link comes back to the page', async () => {
    const page = await (await newContext()).newPage()
    for (const { path, title, why } of [
      { path: '/me/tokens', title: 'API tokens', why: /^Sign in to make tokens/ },
      { path: '/me/requests', title: 'File requests', why: /^Sign in to ask people to send you files/ },
      { path: '/me', title: 'My shares', why: /^Sign in to see the links you created/ },
    ]) {
      await page.goto(`${app.url}${path}`)
      await page.getByRole('heading', { name: title, level: 1 }).waitFor()
      expect(await page.getByText(why).count(), path).toBe(1)
      // The server offers only its OpenID Connect provider: the page's button is that provider's, not Google's.
      const links = page.getByRole('main').getByRole('link')
      expect(await links.allTextContents(), path).toEqual(['Sign in with ACME SSO'])
      const href = new URL((await links.getAttribute('href'))!, app.url)
      expect(href.pathname, path).toBe('/api/auth/oidc/keycloak')
      expect(href.searchParams.get('returnTo'), path).toBe(path)
    }
  })
})

describe('API tokens page', () => {
  it('sign in with the OIDC button, make a token on the API tokens page, use it, download ShareX, revoke it', async () => {
    const page = await (await newContext({ acceptDownloads: true })).newPage()
    await sso.signIn(page, app.url, GRACE)

    await page.getByRole('button', { name: 'Account: Grace Hopper' }).click()
    await page.getByRole('menuitem', { name: 'API tokens' }).click()
    await page.getByRole('heading', { name: 'API tokens', level: 1 }).waitFor()
    await page.getByLabel('Name').fill('e2e screenshots')
    await page.getByRole('button', { name: 'Make token' }).click()
    const token = (await page.getByTestId('new-token').textContent())!.trim()
    expect(token).toMatch(/^sst_/)
    await expect.poll(() => page.getByTestId('token-list').textContent()).toContain('e2e screenshots')

    // A script uploads with it (the default scope is upload).
    const up = await fetch(`${app.url}/api/upload/shot.txt`, { method: 'PUT', body: 'pixels', headers: { authorization: `Bearer ${token}` } })
    expect(up.status).toBe(201)

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download ShareX uploader' }).click()])
    expect(download.suggestedFilename()).toMatch(/\.sxcu$/)
    const sxcu = JSON.parse(readFileSync((await download.path())!, 'utf8')) as { RequestURL: string; Headers: Record<string, string> }
    expect(sxcu.RequestURL).toBe(`${app.url}/api/upload/{filename}`)
    expect(sxcu.Headers.Authorization).toBe(`Bearer ${token}`)

    page.once('dialog', (d) => void d.accept())
    await page.getByRole('button', { name: 'Revoke e2e screenshots' }).click()
    await expect.poll(() => page.getByText('No tokens yet.').count()).toBe(1)
    const after = await fetch(`${app.url}/api/upload/late.txt`, { method: 'PUT', body: 'x', headers: { authorization: `Bearer ${token}` } })
    expect(after.status).toBe(401)
  })
})

describe('file requests', () => {
  it('requester makes a 10 MB request; an anonymous person is refused 11 MB with a clear message, sends 2 MB; the requester sees it and shares it', async () => {
    const page = await (await newContext()).newPage()
    await sso.signIn(page, app.url, ADA)
    await page.getByRole('button', { name: 'Account: Ada Lovelace' }).click()
    await page.getByRole('menuitem', { name: 'File requests' }).click()
    await page.getByRole('heading', { name: 'File requests', level: 1 }).waitFor()
    await page.getByLabel('Title').fill('Scans for the notary')
    await page.getByLabel('Message (optional)').fill('PDFs or photos, please.')
    await page.getByLabel('Total size limit in MB (optional)').fill('10')
    await page.getByRole('button', { name: 'Make request link' }).click()
    const url = (await page.getByTestId('request-url').first().textContent())!.trim()
    expect(url).toMatch(new RegExp(`^${app.url}/request/[A-Za-z0-9_-]{22}$`))

    const upload = await (await newContext()).newPage()
    await upload.goto(url)
    await upload.getByRole('heading', { name: 'Scans for the notary' }).waitFor()
    await expect.poll(() => upload.getByText('Ada Lovelace asks you to send files.').count()).toBe(1)
    await expect.poll(() => upload.getByText(/This request accepts up to 10(\.0)? MB in total/).count()).toBe(1)
    await upload
      .getByTestId('request-file-input')
      .setInputFiles({ name: 'too-big.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(11 * MB, 1) })
    // Told before a byte is sent, and the button to send stays off.
    await expect.poll(() => upload.getByRole('alert').textContent()).toMatch(/^These files hold 11(\.0)? MB; this request accepts only 10(\.0)? MB more\.$/)
    expect(await upload.getByRole('button', { name: /^Send 1 file/ }).isDisabled()).toBe(true)

    const scan = randomBytes(2 * MB)
    await upload.getByTestId('request-file-input').setInputFiles({ name: 'scan-page-1.pdf', mimeType: 'application/pdf', buffer: scan })
    await upload.getByRole('button', { name: /^Send 1 file/ }).click()
    await upload.getByRole('heading', { name: 'Sent' }).waitFor()

    await page.reload()
    const received = page.getByTestId('received-upload')
    await expect.poll(() => received.textContent()).toContain('scan-page-1.pdf')
    await received.getByRole('button', { name: 'Make a share' }).click()
    const shareUrl = (await page.getByTestId('received-share-url').textContent())!.trim()
    const id = new URL(shareUrl).pathname.split('/').pop()!
    const meta = (await (await fetch(`${app.url}/api/shares/${id}`)).json()) as { files: { id: string; name: string; size: number }[] }
    expect(meta.files.map((f) => [f.name, f.size])).toEqual([['scan-page-1.pdf', 2 * MB]])
    const body = Buffer.from(await (await fetch(`${app.url}/api/shares/${id}/files/${meta.files[0]!.id}/download`)).arrayBuffer())
    expect(body.equals(scan)).toBe(true)
  })
})
