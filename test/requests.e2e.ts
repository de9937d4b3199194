/**
 * File requests in the browser (headless Chromium, the built app): a signed-in requester makes a
 * request link with a 10 MB limit; someone without an account opens it in another browser context,
 * is told clearly that 11 MB is too much (before anything is sent; the API refuses it too, see
 * backend/test/file-requests.test.ts), sends 2 MB instead; the requester sees the file arrive
 * and turns it into a share whose download is the same bytes.
 */
import { randomBytes } from 'node:crypto'
import { OAuth2Server } from 'oauth2-mock-server'
import type { Browser, BrowserContext } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp, type AppProcess } from './support/app-server'
import { launchBrowser } from './support/browser'

const MB = 1_000_000

let oidc: OAuth2Server
let app: AppProcess
let browser: Browser
let requester: BrowserContext
let stranger: BrowserContext

beforeAll(async () => {
  oidc = new OAuth2Server()
  await oidc.issuer.keys.generate('RS256')
  await oidc.start(0, '127.0.0.1')
  const issuer = `http://127.0.0.1:${oidc.address().port}/`
  oidc.issuer.url = issuer
  const person = { sub: 'kc-ada', email: 'ada@example.com', email_verified: true, name: 'Ada Lovelace' }
  oidc.service.on('beforeTokenSigning', (token: { payload: Record<string, unknown> }) => void Object.assign(token.payload, person))
  oidc.service.on('beforeUserinfo', (res: { body: unknown }) => void (res.body = person))
  ;[app, browser] = await Promise.all([
    startApp({
      OIDC_PROVIDERS: 'keycloak',
      OIDC_KEYCLOAK_ISSUER: issuer,
      OIDC_KEYCLOAK_CLIENT_ID: 'e2e',
      OIDC_KEYCLOAK_CLIENT_SECRET: 'e2e-secret',
      OIDC_KEYCLOAK_NAME: 'ACME SSO',
    }),
    launchBrowser(),
  ])
  requester = await browser.newContext()
  stranger = await browser.newContext()
})
afterAll(async () => {
  await requester?.close().catch(() => undefined)
  await stranger?.close().catch(() => undefined)
  await browser?.close()
  await app?.stop()
  await oidc?.stop()
})

describe('file requests', () => {
  it('requester makes a 10 MB request; an anonymous person is refused 11 MB with a clear message, sends 2 MB; the requester sees it and shares it', async () => {
    const page = await requester.newPage()
    await page.goto(`${app.url}/`)
    await page.getByRole('link', { name: 'Sign in with ACME SSO' }).click()
    await page.getByRole('button', { name: 'Account: Ada Lovelace' }).click()
    await page.getByRole('menuitem', { name: 'File requests' }).click()
    await page.getByRole('heading', { name: 'File requests', level: 1 }).waitFor()
    await page.getByLabel('Title').fill('Scans for the notary')
    await page.getByLabel('Message (optional)').fill('PDFs or photos, please.')
    await page.getByLabel('Total size limit in MB (optional)').fill('10')
    await page.getByRole('button', { name: 'Make request link' }).click()
    const url = (await page.getByTestId('request-url').first().textContent())!.trim()
    expect(url).toMatch(new RegExp(`^${app.url}/request/[A-Za-z0-9_-]{22}$`))

    const upload = await stranger.newPage()
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
