/**
 * Helpers for the P2P end-to-end suites: devices (browser contexts) in a room, sending through the
 * room page, following a transfer card, and hashing what a receiver saved.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { expect } from 'vitest'
import { sha256File } from './files'
import { leaveWhenAsked } from './pages'

export const MB = 1_000_000

export interface Device {
  name: string
  context: BrowserContext
  page: Page
  errors: string[]
}

export interface DeviceOptions {
  /** localStorage switches set before the room page loads (sink, sendRate, sinkRate) */
  storage?: Record<string, string>
  /** a script run in every page of the device before the app's own */
  init?: string
  bypassCSP?: boolean
  /** headers on every request of the device, WebSocket handshakes included (e.g. X-Forwarded-For) */
  headers?: Record<string, string>
}

export async function device(browser: Browser, name: string, opts: DeviceOptions = {}): Promise<Device> {
  const context = await browser.newContext({ acceptDownloads: true, bypassCSP: opts.bypassCSP, extraHTTPHeaders: opts.headers })
  // The machine may be busy (2 cores, several browsers): be patient with page loads and clicks.
  context.setDefaultTimeout(60_000)
  leaveWhenAsked(context)
  const storage = { 'sharesync.p2p.name': name, ...opts.storage }
  await context.addInitScript((entries: [string, string][]) => {
    for (const [k, v] of entries) if (localStorage.getItem(k) === null) localStorage.setItem(k, v)
  }, Object.entries(storage))
  if (opts.init) await context.addInitScript(opts.init)
  const page = await context.newPage()
  const d: Device = { name, context, page, errors: [] }
  page.on('pageerror', (err) => d.errors.push(err.message))
  return d
}

/** The first device creates a room from the lobby; the others open its link (or type its code). */
export async function enterRoom(url: string, all: Device[], opts: { byCode?: string[]; linked?: boolean } = {}): Promise<{ link: string; code: string }> {
  const [first, ...rest] = all
  await first!.page.goto(`${url}/p2p`)
  await first!.page.getByRole('button', { name: 'Create a room' }).click()
  const link = (await first!.page.getByTestId('room-link').textContent())!.trim()
  expect(link).toMatch(/\/r\/[A-Za-z0-9_-]{22,}$/)
  const code = (await first!.page.getByTestId('room-code').textContent())!.trim()
  for (const d of rest) {
    if (opts.byCode?.includes(d.name)) {
      await d.page.goto(`${url}/p2p`)
      await d.page.getByLabel('Room code').fill(code.toLowerCase())
      await d.page.getByRole('button', { name: 'Join', exact: true }).click()
    } else {
      await d.page.goto(link)
    }
  }
  if (opts.linked !== false) for (const d of all) await connectedTo(d, all.length - 1)
  return { link, code }
}

export async function connectedTo(d: Device, n: number, timeout = 30_000) {
  await d.page.waitForFunction((k) => document.querySelectorAll('[data-testid=peer][data-link=connected]').length === k, n, { timeout })
}

export async function send(from: Device, path: string | string[], to: string) {
  await from.page.getByTestId('p2p-file-input').setInputFiles(path)
  const recipient = from.page.getByTestId('recipient')
  await recipient.selectOption({ label: to })
  // The first option of that name is the one picked: two of them (a device whose tab just closed,
  // still listed, and the one meant) would send to whichever comes first.
  const named = await recipient.locator('option').evaluateAll((options, label) => options.filter((o) => o.textContent === label).length, to)
  if (named !== 1) throw new Error(`${named} recipients are called "${to}" on ${from.name}'s page`)
  await from.page.getByRole('button', { name: 'Send', exact: true }).click()
}

export async function accept(d: Device) {
  const offer = d.page.locator('[data-testid=transfer][data-phase=offered]').first()
  await offer.waitFor({ timeout: 30_000 })
  await offer.getByRole('button', { name: 'Accept' }).click()
}

export const FINAL = ['completed', 'failed', 'cancelled', 'declined']

/** Samples the percentage shown on a page until the transfer there is final. */
export async function watch(d: Device, direction: 'send' | 'receive', timeoutMs = 90_000): Promise<{ seen: number[]; phase: string; message: string }> {
  const seen: number[] = []
  const card = d.page.locator(`[data-testid=transfer][data-direction=${direction}]`).first()
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const phase = (await card.getAttribute('data-phase').catch(() => null)) ?? ''
    const text = await card
      .getByTestId('transfer-percent')
      .textContent({ timeout: 1000 })
      .catch(() => null)
    if (text) seen.push(Number.parseInt(text, 10))
    if (FINAL.includes(phase)) {
      const message = (await card.getByRole('alert').allTextContents().catch(() => [])).join(' ')
      return { seen, phase, message }
    }
    if (Date.now() > deadline) throw new Error(`${d.name}: transfer not final after ${timeoutMs} ms (phase ${phase}, last ${seen.at(-1)} %)`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** Resolves once the page shows at least `pct` % on its transfer card of that direction. */
export async function reached(d: Device, direction: 'send' | 'receive', pct: number, timeout = 60_000) {
  await d.page.waitForFunction(
    ([dir, p]) => Number.parseInt(document.querySelector(`[data-testid=transfer][data-direction=${dir}] [data-testid=transfer-percent]`)?.textContent ?? '0', 10) >= (p as number),
    [direction, pct] as const,
    { timeout },
  )
}

/** Clicks the receiver's Save link and hashes the downloaded file in node. */
export async function savedSha(d: Device, index = 0): Promise<string> {
  const file = d.page.getByTestId('received-file').nth(index)
  await expect(file.getByTestId('verified').isVisible()).resolves.toBe(true)
  const [download] = await Promise.all([d.page.waitForEvent('download'), file.getByRole('link', { name: 'Save' }).click()])
  const sha = await sha256File(await download.path())
  await download.delete()
  return sha
}

/**
 * Counts the binary bytes a page sends on transfer channels, across reloads (kept in
 * sessionStorage): proof that a resumed transfer did not start over.
 */
export const COUNT_SENT_BYTES = `{
  const send = RTCDataChannel.prototype.send
  Object.defineProperty(RTCDataChannel.prototype, 'send', {
    value(data) {
      if (this.label.startsWith('x:') && typeof data !== 'string') {
        const n = Number(sessionStorage.getItem('e2e.sentBytes') || 0) + (data.byteLength || 0)
        sessionStorage.setItem('e2e.sentBytes', String(n))
      }
      return Reflect.apply(send, this, [data])
    },
  })
}`

export function sentBytes(d: Device): Promise<number> {
  return d.page.evaluate(() => Number(sessionStorage.getItem('e2e.sentBytes') || 0))
}

/** Relay-only ICE: with no TURN server, no candidate pair can ever form. */
export const RELAY_ONLY = `{
  const Native = window.RTCPeerConnection
  window.RTCPeerConnection = class extends Native {
    constructor(config) { super({ ...(config || {}), iceTransportPolicy: 'relay' }) }
  }
}`
