/**
 * API tokens and OpenID Connect in the browser (headless Chromium, the built app): sign in with a
 * generic OIDC provider's button, open "API tokens" from the account menu, make a token, use it from
 * a script, download the ShareX uploader made from it, revoke it (then 401).
 */
import { readFileSync } from 'node:fs'
import { OAuth2Server } from 'oauth2-mock-server'
import type { Browser, BrowserContext } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp, type AppProcess } from './support/app-server'
import { launchBrowser } from './support/browser'

let oidc: OAuth2Server
let app: AppProcess
let browser: Browser
let context: BrowserContext

beforeAll(async () => {
  oidc = new OAuth2Server()
  await oidc.issuer.keys.generate('RS256')
  await oidc.start(0, '127.0.0.1')
  const issuer = `http://127.0.0.1:${oidc.address().port}/`
  oidc.issuer.url = issuer
  const person = { sub: 'kc-grace', email: 'grace@example.com', email_verified: true, name: 'Grace Hopper' }
  oidc.service.on('beforeTokenSigning', (token: { payload: Record<string, unknown> }) => void Object.assign(token.payload, person))
  oidc.service.on('beforeUserinfo', (res: { body: unknown }) => void (res.body = person))
  ;[app, browser] = await Promise.all([
    startApp({ OIDC_PROVIDERS: 'keycloak', OIDC_KEYCLOAK_ISSUER: issuer, OIDC_KEYCLOAK_CLIENT_ID: 'e2e', OIDC_KEYCLOAK_CLIENT_SECRET: 'e2e-secret', OIDC_KEYCLOAK_NAME: 'ACME SSO' }),
    launchBrowser(),
  ])
  context = await browser.newContext({ acceptDownloads: true })
})
afterAll(async () => {
  await context?.close().catch(() => undefined)
  await browser?.close()
  await app?.stop()
  await oidc?.stop()
})

describe('API tokens page', () => {
  it('sign in with the OIDC button, make a token on the API tokens page, use it, download ShareX, revoke it', async () => {
    const page = await context.newPage()
    await page.goto(`${app.url}/`)
    await page.getByRole('link', { name: 'Sign in with ACME SSO' }).click()
    await page.getByRole('button', { name: 'Account: Grace Hopper' }).waitFor()

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
