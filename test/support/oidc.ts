/**
 * A generic OpenID Connect provider on loopback (oauth2-mock-server) that the app offers as
 * "ACME SSO", and signing in with it through the web app's button, as a person of the test's choice.
 */
import { OAuth2Server } from 'oauth2-mock-server'
import type { Page } from 'playwright-core'

export interface SsoPerson {
  sub: string
  email: string
  name: string
}

export interface LocalSso {
  /** The app's settings that offer this provider as "ACME SSO". */
  env: Record<string, string>
  stop(): Promise<void>
  /** Signs `page` in through the web app's "Sign in with ACME SSO" button as `person`. */
  signIn(page: Page, appUrl: string, person: SsoPerson): Promise<void>
}

export async function startSso(): Promise<LocalSso> {
  const server = new OAuth2Server()
  await server.issuer.keys.generate('RS256')
  await server.start(0, '127.0.0.1')
  const issuer = `http://127.0.0.1:${server.address().port}/`
  server.issuer.url = issuer
  let person: SsoPerson | null = null
  const claims = () => ({ ...person, email_verified: true })
  server.service.on('beforeTokenSigning', (token: { payload: Record<string, unknown> }) => void Object.assign(token.payload, claims()))
  server.service.on('beforeUserinfo', (res: { body: unknown }) => void (res.body = claims()))
  return {
    env: { OIDC_PROVIDERS: 'keycloak', OIDC_KEYCLOAK_ISSUER: issuer, OIDC_KEYCLOAK_CLIENT_ID: 'e2e', OIDC_KEYCLOAK_CLIENT_SECRET: 'e2e-secret', OIDC_KEYCLOAK_NAME: 'ACME SSO' },
    stop: () => server.stop(),
    async signIn(page, appUrl, who) {
      person = who
      await page.goto(`${appUrl}/`)
      await page.getByRole('link', { name: 'Sign in with ACME SSO' }).click()
      await page.getByRole('button', { name: `Account: ${who.name}` }).waitFor()
    },
  }
}
