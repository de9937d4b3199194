/**
 * P2P rooms end to end: the built app, real headless Chromium, two and three browser contexts
 * connected over WebRTC on loopback. Files are compared by SHA-256 of what the receiver saves.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp, type AppProcess } from './support/app-server'
import { launchBrowser } from './support/browser'
import { randomFile, sha256File, tempDir } from './support/files'
import { decodeQr, describeViolations, seriousA11yViolations } from './support/pages'

const MB = 1_000_000

interface Device {
  name: string
  context: BrowserContext
  page: Page
  errors: string[]
}

let app: AppProcess
let browser: Browser
let files: ReturnType<typeof tempDir>
let big: { path: string; sha: string }
const devices: Device[] = []

beforeAll(async () => {
  files = tempDir()
  const path = randomFile(files.dir, 'big-200MB.bin', 200 * MB)
  ;[app, browser, big] = await Promise.all([startApp(), launchBrowser(), sha256File(path).then((sha) => ({ path, sha }))])
})

afterAll(async () => {
  // The app first: it must never outlive the suite, even if the browser is slow to close.
  await app?.stop()
  for (const d of devices) await d.context.close().catch(() => undefined)
  await browser?.close()
  files?.remove()
})

async function device(name: string): Promise<Device> {
  const context = await browser.newContext({ acceptDownloads: true })
  // The machine may be busy (2 cores, several browsers): be patient with page loads and clicks.
  context.setDefaultTimeout(60_000)
  const page = await context.newPage()
  const d: Device = { name, context, page, errors: [] }
  page.on('pageerror', (err) => d.errors.push(err.message))
  devices.push(d)
  return d
}

/** A creates a room from the lobby; the others open its link (as a QR scan would) or type its code. */
async function roomWith(names: string[], opts: { byCode?: string[]; sink?: Record<string, 'download' | 'blob'> } = {}): Promise<Device[]> {
  const [first, ...rest] = await Promise.all(names.map(device))
  await first!.page.goto(`${app.url}/p2p`)
  await first!.page.getByLabel("This device's name (optional)").fill(first!.name)
  await first!.page.getByRole('button', { name: 'Create a room' }).click()
  const link = (await first!.page.getByTestId('room-link').textContent())!.trim()
  expect(link).toMatch(/\/r\/[A-Za-z0-9_-]{22,}$/)
  const code = (await first!.page.getByTestId('room-code').textContent())!.trim()
  for (const d of rest) {
    await d.page.goto(`${app.url}/p2p`)
    await d.page.getByLabel("This device's name (optional)").fill(d.name)
    const sink = opts.sink?.[d.name]
    if (sink) await d.page.evaluate((v) => localStorage.setItem('sharesync.p2p.sink', v), sink)
    if (opts.byCode?.includes(d.name)) {
      await d.page.getByLabel('Room code').fill(code.toLowerCase())
      await d.page.getByRole('button', { name: 'Join', exact: true }).click()
    } else {
      await d.page.goto(link)
    }
  }
  const all = [first!, ...rest]
  // Everyone sees everyone else with a direct connection.
  for (const d of all) await d.page.waitForFunction((n) => document.querySelectorAll('[data-testid=peer][data-link=connected]').length === n, all.length - 1, { timeout: 30_000 })
  return all
}

async function send(from: Device, path: string | string[], to: string) {
  await from.page.getByTestId('p2p-file-input').setInputFiles(path)
  await from.page.getByTestId('recipient').selectOption({ label: to })
  await from.page.getByRole('button', { name: 'Send', exact: true }).click()
}

async function accept(d: Device) {
  const offer = d.page.locator('[data-testid=transfer][data-phase=offered]').first()
  await offer.waitFor({ timeout: 30_000 })
  await offer.getByRole('button', { name: 'Accept' }).click()
}

/** Samples the percentage shown on a page until the transfer there is final. */
async function watch(d: Device, direction: 'send' | 'receive', timeoutMs = 150_000): Promise<{ seen: number[]; phase: string; message: string }> {
  const seen: number[] = []
  const card = d.page.locator(`[data-testid=transfer][data-direction=${direction}]`).first()
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const phase = (await card.getAttribute('data-phase').catch(() => null)) ?? ''
    const text = await card.getByTestId('transfer-percent').textContent().catch(() => null)
    if (text) seen.push(Number.parseInt(text, 10))
    if (['completed', 'failed', 'cancelled', 'declined'].includes(phase)) {
      const message = (await card.getByRole('alert').textContent().catch(() => '')) ?? ''
      return { seen, phase, message }
    }
    if (Date.now() > deadline) throw new Error(`${d.name}: transfer not final after ${timeoutMs} ms (phase ${phase}, last ${seen.at(-1)} %)`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

/** Clicks the receiver's Save link and hashes the downloaded file in node. */
async function savedSha(d: Device, index = 0): Promise<string> {
  const file = d.page.getByTestId('received-file').nth(index)
  await expect(file.getByTestId('verified').isVisible()).resolves.toBe(true)
  const [download] = await Promise.all([d.page.waitForEvent('download'), file.getByRole('link', { name: 'Save' }).click()])
  const path = await download.path()
  const sha = await sha256File(path)
  await download.delete()
  return sha
}

describe('P2P rooms in the browser', () => {
  it('a 200 MB file (and two more in a row) goes from A to B intact, with live progress reaching 100 % on both sides', async () => {
    const [a, b] = await roomWith(['Alice laptop', 'Bob phone'])
    const notes = randomFile(files.dir, 'notes.txt', 1 * MB + 5)
    const empty = randomFile(files.dir, 'empty.bin', 0)
    // The QR code holds the room's link.
    expect(await decodeQr(a!.page.getByTestId('qr-code'))).toBe((await a!.page.getByTestId('room-link').textContent())!.trim())
    await send(a!, [big.path, notes, empty], 'Bob phone')
    await accept(b!)
    const [sent, received] = await Promise.all([watch(a!, 'send'), watch(b!, 'receive')])
    expect(sent.phase).toBe('completed')
    expect(received.phase).toBe('completed')
    // Live: intermediate percentages were shown on both sides, ending at 100 %.
    for (const side of [sent, received]) {
      expect(side.seen.at(-1)).toBe(100)
      expect(side.seen.some((p) => p > 0 && p < 100)).toBe(true)
    }
    expect(await a!.page.locator('[data-testid=transfer] [role=progressbar]').first().getAttribute('aria-valuenow')).toBe('100')
    expect(await b!.page.locator('[data-testid=transfer] [role=progressbar]').first().getAttribute('aria-valuenow')).toBe('100')
    expect(await b!.page.getByTestId('received-file').count()).toBe(3)
    expect(await savedSha(b!, 0)).toBe(big.sha)
    expect(await savedSha(b!, 1)).toBe(await sha256File(notes))
    expect(await savedSha(b!, 2)).toBe(await sha256File(empty))
    expect([...a!.errors, ...b!.errors]).toEqual([])
    await Promise.all([a!.context.close(), b!.context.close()])
  })

  it('one sender to two receivers at once: both get the same 200 MB, verified', async () => {
    const [a, b, c] = await roomWith(['Alice laptop', 'Bob phone', 'Carol tablet'], { byCode: ['Carol tablet'] })
    // Everyone sees the others by the names they gave.
    expect(await c!.page.getByTestId('peer').allTextContents()).toEqual([expect.stringContaining('Alice laptop'), expect.stringContaining('Bob phone')])
    await send(a!, big.path, 'Everyone (2)')
    await Promise.all([accept(b!), accept(c!)])
    const results = await Promise.all([watch(b!, 'receive'), watch(c!, 'receive')])
    expect(results.map((r) => r.phase)).toEqual(['completed', 'completed'])
    await a!.page.waitForFunction(() => document.querySelectorAll('[data-testid=transfer][data-direction=send][data-phase=completed]').length === 2, undefined, { timeout: 30_000 })
    expect(await savedSha(b!)).toBe(big.sha)
    expect(await savedSha(c!)).toBe(big.sha)
    expect([...a!.errors, ...b!.errors, ...c!.errors]).toEqual([])
    await Promise.all([a!, b!, c!].map((d) => d.context.close()))
  })

  it('where OPFS is missing, a file streams through the service worker into the downloads, and small ones go to a Blob; all verified', async () => {
    const [a, b, c] = await roomWith(['Alice laptop', 'Bob phone', 'Carol tablet'], { sink: { 'Bob phone': 'download', 'Carol tablet': 'blob' } })
    const path = randomFile(files.dir, 'through-sw.bin', 40 * MB + 3)
    const sha = await sha256File(path)
    const downloaded = b!.page.waitForEvent('download', { timeout: 60_000 })
    await send(a!, path, 'Everyone (2)')
    await Promise.all([accept(b!), accept(c!)])
    const [atB, atC] = await Promise.all([watch(b!, 'receive'), watch(c!, 'receive')])
    expect([atB.phase, atC.phase]).toEqual(['completed', 'completed'])
    // B: no Save link, the browser's download manager got the stream.
    expect(await b!.page.getByTestId('received-file').textContent()).toContain('saved to your downloads')
    const download = await downloaded
    expect(download.suggestedFilename()).toBe('through-sw.bin')
    expect(await sha256File(await download.path())).toBe(sha)
    // C: a Blob, saved from its link.
    expect(await savedSha(c!)).toBe(sha)
    expect([...a!.errors, ...b!.errors, ...c!.errors]).toEqual([])
    await Promise.all([a!, b!, c!].map((d) => d.context.close()))
  })

  it('the lobby and a room with a transfer offer have no serious accessibility problems', async () => {
    const [a, b] = await roomWith(['Alice laptop', 'Bob phone'])
    const lobby = await browser.newContext({ bypassCSP: true })
    const page = await lobby.newPage()
    await page.goto(`${app.url}/p2p`)
    await page.getByRole('button', { name: 'Create a room' }).waitFor()
    const inLobby = await seriousA11yViolations(page)
    expect(inLobby, describeViolations(inLobby)).toEqual([])
    await lobby.close()
    // axe needs to run its script: a page of the room opened with CSP bypassed.
    const room = await browser.newContext({ bypassCSP: true })
    const c = await room.newPage()
    await c.goto((await a!.page.getByTestId('room-link').textContent())!.trim())
    await c.locator('[data-testid=peer][data-link=connected]').nth(1).waitFor({ timeout: 30_000 })
    await send(a!, randomFile(files.dir, 'a11y.bin', 1000), 'Everyone (2)')
    await c.locator('[data-testid=transfer][data-phase=offered]').waitFor()
    const inRoom = await seriousA11yViolations(c)
    expect(inRoom, describeViolations(inRoom)).toEqual([])
    await room.close()
    await Promise.all([a!.context.close(), b!.context.close()])
  })

  it('a file damaged on the way is never shown as complete: the SHA-256 check fails it on both sides', async () => {
    const [a, b] = await roomWith(['Alice laptop', 'Bob phone'])
    // A faulty path: one byte of the 3rd chunk of every transfer channel flips on the way out.
    // (The sizes of the binary frames are kept too: chunks are min(maxMessageSize, 256 KiB).)
    await a!.page.evaluate(() => {
      const send = RTCDataChannel.prototype.send
      const counts = new Map<RTCDataChannel, number>()
      const sizes: number[] = []
      Object.defineProperty(window, 'sentChunkSizes', { value: sizes })
      Object.defineProperty(RTCDataChannel.prototype, 'send', {
        value(this: RTCDataChannel, data: unknown) {
          const n = (counts.get(this) ?? 0) + 1
          counts.set(this, n)
          if (this.label.startsWith('x:') && data instanceof Uint8Array) sizes.push(data.byteLength)
          if (this.label.startsWith('x:') && n === 3 && data instanceof Uint8Array) {
            const copy = data.slice()
            copy[0] = copy[0]! ^ 0xff
            return Reflect.apply(send, this, [copy])
          }
          return Reflect.apply(send, this, [data])
        },
      })
    })
    const path = randomFile(files.dir, 'flipped.bin', 5 * MB)
    await send(a!, path, 'Bob phone')
    await accept(b!)
    const [sent, received] = await Promise.all([watch(a!, 'send', 60_000), watch(b!, 'receive', 60_000)])
    expect(received.phase).toBe('failed')
    expect(received.message).toContain('arrived damaged')
    expect(sent.phase).toBe('failed')
    expect(sent.message).toContain('damaged')
    expect(await b!.page.getByTestId('verified').count()).toBe(0)
    expect(await b!.page.getByRole('link', { name: 'Save' }).count()).toBe(0)
    const sizes = await a!.page.evaluate(() => (window as unknown as { sentChunkSizes: number[] }).sentChunkSizes)
    expect(sizes.length).toBeGreaterThan(2)
    expect(Math.max(...sizes)).toBe(256 * 1024)
    await Promise.all([a!.context.close(), b!.context.close()])
  })

  it('either side can cancel or decline, and both sides say so', async () => {
    const [a, b] = await roomWith(['Alice laptop', 'Bob phone'])
    const medium = randomFile(files.dir, 'medium.bin', 60 * MB)
    const receiving = (d: Device) => d.page.locator('[data-testid=transfer][data-direction=receive]').first()
    const sending = (d: Device) => d.page.locator('[data-testid=transfer][data-direction=send]').first()
    const reached = (d: Device, pct: number) =>
      d.page.waitForFunction((p) => Number.parseInt(document.querySelector('[data-testid=transfer][data-direction=receive] [data-testid=transfer-percent]')?.textContent ?? '0', 10) >= p, pct, { timeout: 60_000 })

    // The receiver cancels.
    await send(a!, medium, 'Bob phone')
    await accept(b!)
    await reached(b!, 5)
    await receiving(b!).getByRole('button', { name: 'Cancel' }).click()
    const byReceiver = await watch(a!, 'send', 20_000)
    expect(byReceiver.phase).toBe('cancelled')
    expect(await sending(a!).textContent()).toContain('Bob phone cancelled.')

    // The sender cancels.
    await send(a!, medium, 'Bob phone')
    await accept(b!)
    await b!.page.locator('[data-testid=transfer][data-direction=receive][data-phase=active]').first().waitFor()
    await sending(a!).getByRole('button', { name: 'Cancel' }).click()
    await b!.page.locator('[data-testid=transfer][data-direction=receive][data-phase=cancelled]').first().waitFor({ timeout: 20_000 })
    expect(await receiving(b!).textContent()).toContain('Alice laptop cancelled.')

    // The receiver declines.
    await send(a!, medium, 'Bob phone')
    await b!.page.locator('[data-testid=transfer][data-phase=offered]').first().getByRole('button', { name: 'Decline' }).click()
    await a!.page.locator('[data-testid=transfer][data-direction=send][data-phase=declined]').first().waitFor({ timeout: 20_000 })
    expect(await sending(a!).textContent()).toContain('Bob phone declined.')
    expect([...a!.errors, ...b!.errors]).toEqual([])
    await Promise.all([a!.context.close(), b!.context.close()])
  })

  it('when no direct connection can be made, both sides say so with the TURN hint for admins', async () => {
    const a = await device('Alice laptop')
    const b = await device('Bob phone')
    // B is on a network where only a relay could connect it (relay-only ICE, and no TURN configured).
    await b.context.addInitScript(`{
      const Native = window.RTCPeerConnection
      window.RTCPeerConnection = class extends Native {
        constructor(config) { super({ ...(config || {}), iceTransportPolicy: 'relay' }) }
      }
    }`)
    await a.page.goto(`${app.url}/p2p`)
    await a.page.getByRole('button', { name: 'Create a room' }).click()
    await b.page.goto((await a.page.getByTestId('room-link').textContent())!.trim())
    for (const d of [a, b]) {
      await d.page.locator('[data-testid=peer][data-link=failed]').waitFor({ timeout: 45_000 })
      const alert = (await d.page.getByRole('alert').allTextContents()).join(' ')
      expect(alert).toContain('Could not connect directly')
      expect(alert).toContain('TURN_URLS/TURN_SECRET')
    }
    // Nothing can be sent to a device without a connection.
    expect(await a.page.getByTestId('recipient').locator('option').allTextContents()).toEqual(['Everyone (0)'])
    expect([...a.errors, ...b.errors]).toEqual([])
    await Promise.all([a.context.close(), b.context.close()])
  })

  it('a receiver closing its tab mid-transfer gives the sender a clear message, and the next file in the room still arrives', async () => {
    const [a, b, c] = await roomWith(['Alice laptop', 'Bob phone', 'Carol tablet'])
    await send(a!, big.path, 'Bob phone')
    await accept(b!)
    await b!.page.waitForFunction(() => {
      const t = document.querySelector('[data-testid=transfer][data-direction=receive] [data-testid=transfer-percent]')
      return t !== null && Number.parseInt(t.textContent ?? '0', 10) >= 10
    }, undefined, { timeout: 60_000 })
    await b!.page.close()
    const sent = await watch(a!, 'send', 30_000)
    expect(sent.phase).toBe('failed')
    expect(sent.message).toMatch(/Bob phone (left the room|.*lost)/)
    expect(sent.message).toMatch(/transfer stopped/)
    await a!.page.waitForFunction(() => document.querySelectorAll('[data-testid=peer]').length === 1, undefined, { timeout: 10_000 })

    // The room goes on: a second file to Carol.
    const small = randomFile(files.dir, 'second.bin', 3 * MB + 17)
    await a!.page.locator('[data-testid=transfer]').first().waitFor()
    await send(a!, small, 'Carol tablet')
    await accept(c!)
    const received = await watch(c!, 'receive', 60_000)
    expect(received.phase).toBe('completed')
    expect(await savedSha(c!)).toBe(await sha256File(small))
    expect([...a!.errors, ...c!.errors]).toEqual([])
  })
})
