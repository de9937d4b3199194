/**
 * The admin dashboard end to end: the built server, a local OAuth2 server standing in for Google,
 * a scripted mix of uploads, downloads and P2P reports from Node, then the dashboard in headless
 * Chromium — totals shown, a setting changed in the UI refusing the next upload, the audit log.
 * Screenshots at phone and laptop size go to test/screenshots/.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { browserFetch, CookieJar, signInFlow, startOAuthServer, type FakeGoogleUser, type LocalOAuth } from '../backend/test/support/oauth'
import { connectRooms, reportTransfer, type RoomsClient } from '../backend/test/support/rooms-client'
import { startApp, type AppProcess } from './support/app-server'
import { launchBrowser } from './support/browser'
import { describeViolations, screenshot, seriousA11yViolations, VIEWPORTS } from './support/pages'

const ROOT: FakeGoogleUser = { sub: 'e2e-root', email: 'root@example.com', name: 'Root Admin', email_verified: true }
const ALICE: FakeGoogleUser = { sub: 'e2e-alice', email: 'alice@example.com', name: 'Alice', email_verified: true }
const BOB: FakeGoogleUser = { sub: 'e2e-bob', email: 'bob@example.com', name: 'Bob', email_verified: true }

let oauth: LocalOAuth
let app: AppProcess
let browser: Browser
const contexts: BrowserContext[] = []
const sockets: RoomsClient[] = []
const jars = new Map<string, CookieJar>()

async function signIn(user: FakeGoogleUser): Promise<CookieJar> {
  oauth.setUser(user)
  const jar = new CookieJar()
  const { response } = await signInFlow(app.url, jar)
  expect(response.status).toBe(302)
  jars.set(user.email, jar)
  return jar
}

async function upload(jar: CookieJar | null, name: string, size: number): Promise<Response> {
  const init = { method: 'PUT', body: new Uint8Array(size).fill(1), headers: { 'content-type': 'application/octet-stream' } }
  const url = `${app.url}/api/upload/${encodeURIComponent(name)}`
  return jar ? browserFetch(jar, url, init) : fetch(url, init)
}

/** A page signed in as `jar`'s user (the session cookie copied into the browser), at a viewport. */
async function pageAs(jar: CookieJar, viewport: { width: number; height: number }): Promise<Page> {
  // bypassCSP: axe-core is injected as an inline script for the accessibility check.
  const context = await browser.newContext({ bypassCSP: true, viewport })
  contexts.push(context)
  await context.addCookies([...jar.cookies].map(([name, value]) => ({ name, value, url: app.url })))
  return context.newPage()
}

const valueOf = (page: Page, testId: string) => page.getByTestId(`${testId}-value`).innerText()

beforeAll(async () => {
  oauth = await startOAuthServer()
  ;[app, browser] = await Promise.all([startApp({ ...oauth.env, ADMIN_EMAILS: ROOT.email, UPLOAD_RATE_LIMIT: '1000/1h' }), launchBrowser()])
})
afterAll(async () => {
  for (const s of sockets) s.close()
  for (const c of contexts) await c.close().catch(() => undefined)
  await browser?.close()
  await app?.stop()
  await oauth?.stop()
})

describe('admin dashboard in Chromium', () => {
  it('shows the totals of a scripted mix, live counters, charts and tables; no serious accessibility violation; phone and laptop screenshots', async () => {
    const root = await signIn(ROOT)
    const alice = await signIn(ALICE)
    const bob = await signIn(BOB)

    // 6 uploads (Alice 2, Bob 1, anonymous 3), 5 downloads, 2 P2P transfer reports.
    const ids: string[] = []
    for (const [jar, name, size] of [
      [alice, 'quarterly-report.pdf', 300_000],
      [alice, 'holiday.jpg', 1_200_000],
      [bob, 'build.zip', 2_000_000],
      [null, 'notes.txt', 5_000],
      [null, 'song.mp3', 700_000],
      [null, 'licence.key', 100],
    ] as const) {
      const res = await upload(jar, name, size)
      expect(res.status).toBe(201)
      ids.push(((await res.json()) as { id: string }).id)
    }
    for (const id of [ids[0], ids[0], ids[0], ids[2], ids[3]]) {
      const res = await fetch(`${app.url}/api/shares/${id}/download`, { redirect: 'manual' })
      expect(res.status).toBe(302)
    }
    const peer = await connectRooms(app.url)
    sockets.push(peer)
    expect((await peer.emitWithAck('room:create', {})).ok).toBe(true)
    expect((await reportTransfer(peer, { bytes: 50_000_000, files: 3, ms: 4000, status: 'completed' })).ok).toBe(true)
    expect((await reportTransfer(peer, { bytes: 1000, files: 1, ms: 100, status: 'cancelled' })).ok).toBe(true)

    const page = await pageAs(root, VIEWPORTS.laptop)
    await page.goto(`${app.url}/admin`)
    await page.getByRole('heading', { name: 'Admin dashboard' }).waitFor()
    await page.getByTestId('total-uploads').waitFor()
    expect(await valueOf(page, 'total-users')).toBe('3')
    expect(await valueOf(page, 'total-active-shares')).toBe('6')
    expect(await valueOf(page, 'total-uploads')).toBe('6')
    expect(await valueOf(page, 'total-downloads')).toBe('5')
    expect(await valueOf(page, 'total-p2p')).toBe('2')
    expect(await valueOf(page, 'uploads-signed-in')).toBe('3')
    expect(await valueOf(page, 'uploads-anonymous')).toBe('3')
    // Live counters come over the admin socket: the room above is open with one peer.
    await expect.poll(() => page.getByTestId('feed-status').innerText()).toBe('connected')
    expect(await valueOf(page, 'live-rooms')).toBe('1')
    expect(await valueOf(page, 'live-peers')).toBe('1')
    // Charts are drawn by recharts (SVG bars), and the most downloaded share leads its table.
    await expect.poll(() => page.locator('[data-testid="activity-chart"] .recharts-bar-rectangle').count()).toBeGreaterThan(0)
    await expect.poll(() => page.locator('[data-testid="bytes-chart"] .recharts-area').count()).toBe(3)
    const topRow = page.getByTestId('top-shares').locator('tbody tr').first()
    expect(await topRow.innerText()).toMatch(/quarterly-report\.pdf[\s\S]*alice@example\.com[\s\S]*3/)
    // A new upload reaches the open dashboard as an event, and the totals follow.
    expect((await upload(alice, 'late.txt', 10)).status).toBe(201)
    await page
      .getByTestId('event-list')
      .getByText(/New share: 1 file/)
      .waitFor()
    await expect.poll(() => valueOf(page, 'total-uploads')).toBe('7')
    // Live counters are pushed every few seconds: a second room shows up without a reload.
    const second = await connectRooms(app.url)
    sockets.push(second)
    expect((await second.emitWithAck('room:create', {})).ok).toBe(true)
    await expect.poll(() => valueOf(page, 'live-rooms'), { timeout: 15_000 }).toBe('2')
    second.close()

    const laptop = await screenshot(page, 'admin-overview-1280x800')
    // Today's row of the per-day table matches the mix.
    await page.getByText('Show the figures as a table').click()
    const todayRow = page.getByTestId('series-table').locator('tbody tr').first()
    expect((await todayRow.innerText()).split(/\s+/).slice(0, 3)).toEqual([new Date().toISOString().slice(0, 10), '7', '5'])

    expect(describeViolations(await seriousA11yViolations(page))).toBe('')

    // Shares: search and delete; Users: the table lists the accounts.
    await page.getByRole('tab', { name: 'Shares' }).click()
    await page.getByRole('searchbox', { name: /Search shares/ }).fill('holiday')
    await page.getByRole('button', { name: 'Search' }).click()
    await expect.poll(() => page.getByTestId('shares-table').locator('tbody tr').count()).toBe(1)
    await page.getByRole('button', { name: 'Delete holiday.jpg' }).click()
    await page.getByRole('button', { name: 'Confirm deleting holiday.jpg' }).click()
    await page.getByText('Deleted holiday.jpg.').waitFor()
    expect((await fetch(`${app.url}/api/shares/${ids[1]}`)).status).toBe(404)
    expect(describeViolations(await seriousA11yViolations(page))).toBe('')
    await screenshot(page, 'admin-shares-1280x800')

    await page.getByRole('tab', { name: 'Users' }).click()
    await expect.poll(() => page.getByTestId('users-table').locator('tbody tr').count()).toBe(3)
    expect(describeViolations(await seriousA11yViolations(page))).toBe('')

    const phone = await pageAs(root, VIEWPORTS.phone)
    await phone.goto(`${app.url}/admin`)
    // On failure, say what the page showed instead (a stuck load, an error).
    await phone
      .getByTestId('total-uploads')
      .waitFor()
      .catch(async (e: unknown) => {
        throw new Error(`${String(e)}\npage showed: ${await phone.locator('main').innerText()}`)
      })
    await expect.poll(() => phone.getByTestId('feed-status').innerText()).toBe('connected')
    // Nothing wider than the phone's screen (tables scroll inside their own region).
    expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(VIEWPORTS.phone.width)
    expect(describeViolations(await seriousA11yViolations(phone))).toBe('')
    const phoneShot = await screenshot(phone, 'admin-overview-390x844')
    await phone.getByRole('tab', { name: 'Users' }).click()
    await phone.getByTestId('users-table').waitFor()
    // The wide table scrolls inside its region; not even its screen-reader-only header widens the page.
    expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(VIEWPORTS.phone.width)
    await screenshot(phone, 'admin-users-390x844')
    expect([laptop, phoneShot].every((p) => p.endsWith('.png'))).toBe(true)
  })

  it('a setting changed in the dashboard takes effect on the next upload, and the audit log shows it', async () => {
    const root = jars.get(ROOT.email)!
    const alice = jars.get(ALICE.email)!
    expect((await upload(alice, 'before.bin', 300_000)).status).toBe(201)

    const page = await pageAs(root, VIEWPORTS.phone)
    await page.goto(`${app.url}/admin`)
    await page.getByRole('tab', { name: 'Settings' }).click()
    const users = page.getByRole('group', { name: 'Signed-in users' })
    await users.getByLabel('Max file size (MB)').fill('0.25')
    await page.getByRole('group', { name: 'Anonymous visitors' }).getByLabel('Max file size (MB)').fill('0.1')
    await page.getByRole('button', { name: 'Save settings' }).click()
    await page.getByText('Saved. The new settings apply from the next upload.').waitFor()
    expect(describeViolations(await seriousA11yViolations(page))).toBe('')
    await screenshot(page, 'admin-settings-390x844')

    // The very next upload over 0.25 MB is refused; under it still works.
    const refused = await upload(alice, 'after.bin', 300_000)
    expect(refused.status).toBe(413)
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('too_large')
    expect((await upload(alice, 'small.bin', 200_000)).status).toBe(201)
    expect((await upload(null, 'anon.bin', 200_000)).status).toBe(413)
    // The web app's limits follow too.
    const config = (await (await fetch(`${app.url}/api/config`)).json()) as { limits: { user: { maxFileSize: number } } }
    expect(config.limits.user.maxFileSize).toBe(250_000)

    await page.getByRole('tab', { name: 'Audit log' }).click()
    const row = page.getByTestId('audit-list').locator('li').first()
    await expect.poll(() => row.innerText()).toMatch(/root@example\.com[\s\S]*changed settings[\s\S]*user\.maxFileSize/)
    expect(describeViolations(await seriousA11yViolations(page))).toBe('')
    await screenshot(page, 'admin-audit-390x844')
  })

  it('a signed-in non-admin sees no dashboard, and the API refuses them', async () => {
    const page = await pageAs(jars.get(BOB.email)!, VIEWPORTS.phone)
    await page.goto(`${app.url}/admin`)
    await page.getByText('This page is for administrators.').waitFor()
    expect(await page.evaluate(async () => (await fetch('/api/admin/stats')).status)).toBe(403)
  })
})
