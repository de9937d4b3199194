/**
 * One link, two paths, end to end in headless Chromium: the home page gives a link at once, the
 * sender's result page serves it directly (WebRTC, or the server relay) while it is open, and the
 * cloud copy serves it otherwise. Sender and recipients are separate browser contexts, as separate
 * people would be; what the server stores is read straight from its data directory.
 */
import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, BrowserContext } from 'playwright-core'
import { io } from 'socket.io-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp, type AppProcess } from './support/app-server'
import { launchBrowser } from './support/browser'
import { randomFile, sha256File, tempDir } from './support/files'
import { RELAY_ONLY } from './support/p2p'
import { screenshot, settled } from './support/pages'
import { cloudCopyStored, downloadOne, person, receipts, sendWithOneLink, settledPath } from './support/one-link'

const KiB = 1024
const ENV = { UPLOAD_RATE_LIMIT: '1000/1h', SHARE_CREATE_RATE_LIMIT: '1000/1h' }

let app: AppProcess
let relayOff: AppProcess
let browser: Browser
let files: ReturnType<typeof tempDir>
const contexts: BrowserContext[] = []

beforeAll(async () => {
  files = tempDir()
  ;[app, relayOff, browser] = await Promise.all([startApp(ENV), startApp({ ...ENV, RELAY_ENABLED: 'false' }), launchBrowser()])
})

afterAll(async () => {
  await Promise.all(contexts.map((c) => c.close().catch(() => undefined)))
  await browser?.close()
  await Promise.all([app?.stop(), relayOff?.stop()])
  files?.remove()
})

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    const st = statSync(p, { throwIfNoEntry: false })
    if (!st) return []
    return st.isDirectory() ? filesUnder(p) : [p]
  })
}

/** Every file that appears under the store's directory while `run` runs (looked at every 20 ms). */
async function storedDuring<T>(dir: string, run: () => Promise<T>): Promise<{ result: T; seen: Set<string> }> {
  const seen = new Set<string>()
  const look = () => filesUnder(dir).forEach((f) => seen.add(f))
  look()
  const timer = setInterval(look, 20)
  try {
    const result = await run()
    look()
    return { result, seen }
  } finally {
    clearInterval(timer)
  }
}

const shareIdOf = (link: string) => new URL(link).pathname.split('/').pop()!

/** A socket of the /rooms namespace, as a script (not the web app) would use it. */
async function roomsSocket(baseUrl: string) {
  const s = io(`${baseUrl}/rooms`, { transports: ['websocket'], forceNew: true })
  await new Promise<void>((resolve, reject) => {
    s.once('connect', () => resolve())
    s.once('connect_error', reject)
  })
  return s
}

describe('one link, two paths', () => {
  it('with the sender online and "keep a copy" off, the recipient gets the file byte-identical directly, the server stores nothing for it at any time, and the sender sees a 100 % direct receipt', async () => {
    const path = randomFile(files.dir, 'direct-only.bin', 300 * KiB + 7)
    const sender = await person(browser, contexts)
    const blobs = join(app.dataDir, 'blobs')
    const before = new Set(filesUnder(blobs))
    const { result: got, seen } = await storedDuring(blobs, async () => {
      const link = await sendWithOneLink(sender, app.url, [path], { copy: false })
      await sender.locator('[data-testid=cloud-copy][data-state=off]').waitFor()
      const recipient = await person(browser, contexts)
      await recipient.goto(link)
      expect(await settledPath(recipient)).toBe('direct')
      await expect.poll(() => recipient.getByTestId('path-line').textContent()).toMatch(/Receiving directly from the sender/)
      const one = await downloadOne(recipient, 'Download direct-only.bin', files.dir)
      await expect.poll(() => receipts(sender)).toEqual([['direct', 'done', '100']])
      return one
    })
    expect(got).toEqual({ sha: await sha256File(path), name: 'direct-only.bin' })
    expect([...seen].filter((f) => !before.has(f))).toEqual([])
  })

  it('with "keep a copy" on, a recipient gets the file directly; after the sender closes the page a second recipient gets it byte-identical from the cloud copy', async () => {
    const path = randomFile(files.dir, 'both-paths.bin', 256 * KiB + 3)
    const expected = await sha256File(path)
    const sender = await person(browser, contexts)
    const link = await sendWithOneLink(sender, app.url, [path])
    await cloudCopyStored(sender)

    const first = await person(browser, contexts)
    await first.goto(link)
    expect(await settledPath(first)).toBe('direct')
    expect((await downloadOne(first, 'Download both-paths.bin', files.dir)).sha).toBe(expected)
    await expect.poll(() => receipts(sender)).toEqual([['direct', 'done', '100']])
    // The README's picture of a receipt (docs/screenshots/one-link-result.png is a copy).
    await settled(sender)
    await screenshot(sender, 'one-link-result')

    await sender.context().close()
    const second = await person(browser, contexts)
    await second.goto(link)
    expect(await settledPath(second)).toBe('cloud')
    await expect.poll(() => second.getByTestId('path-line').textContent()).toMatch(/Sender is offline — downloading from the cloud copy/)
    expect((await downloadOne(second, 'Download both-paths.bin', files.dir)).sha).toBe(expected)
  })

  it('a cloud download while the sender is online shows on the sender page as a cloud receipt at 100 %', async () => {
    const path = randomFile(files.dir, 'cloud-receipt.bin', 200 * KiB)
    const sender = await person(browser, contexts)
    const link = await sendWithOneLink(sender, app.url, [path])
    await cloudCopyStored(sender)
    // A script downloading through the API (curl-like) takes the cloud path.
    const id = shareIdOf(link)
    const meta = (await (await fetch(`${app.url}/api/shares/${id}`)).json()) as { files: { id: string }[] }
    const issued = (await (await fetch(`${app.url}/api/shares/${id}/files/${meta.files[0]!.id}/download`, { method: 'POST' })).json()) as { url: string }
    const body = Buffer.from(await (await fetch(new URL(issued.url, app.url))).arrayBuffer())
    expect(body.length).toBe(200 * KiB)
    await expect.poll(() => receipts(sender)).toEqual([['cloud', 'done', '100']])
  })

  it('when no direct connection can be made (relay-only WebRTC, server relay off), the recipient falls back to the cloud copy by itself, byte-identical', async () => {
    const path = randomFile(files.dir, 'fallback.bin', 128 * KiB + 1)
    const sender = await person(browser, contexts)
    const link = await sendWithOneLink(sender, relayOff.url, [path])
    await cloudCopyStored(sender)
    const recipient = await person(browser, contexts, { init: RELAY_ONLY })
    await recipient.goto(link)
    expect(await settledPath(recipient, 45_000)).toBe('cloud')
    await expect.poll(() => recipient.getByTestId('path-line').textContent()).toMatch(/No direct connection to the sender — downloading from the cloud copy/)
    expect((await downloadOne(recipient, 'Download fallback.bin', files.dir)).sha).toBe(await sha256File(path))
  })

  it('a password link refuses both paths without the password (page locked, link room and cloud download refused) and serves them with it', async () => {
    const path = randomFile(files.dir, 'locked.bin', 64 * KiB)
    const sender = await person(browser, contexts)
    const link = await sendWithOneLink(sender, app.url, [path], { password: 'correct horse', copy: false })
    const id = shareIdOf(link)

    const s = await roomsSocket(app.url)
    try {
      const none = (await s.timeout(5000).emitWithAck('link:join', { shareId: id })) as { ok: boolean; error?: { code: string } }
      const wrong = (await s.timeout(5000).emitWithAck('link:join', { shareId: id, password: 'wrong' })) as { ok: boolean; error?: { code: string } }
      expect([none.error?.code, wrong.error?.code]).toEqual(['password_required', 'password_invalid'])
      const claim = (await s.timeout(5000).emitWithAck('link:claim', {})) as { ok: boolean }
      expect(claim.ok).toBe(false)
    } finally {
      s.disconnect()
    }
    const recipient = await person(browser, contexts)
    await recipient.goto(link)
    await recipient.getByRole('heading', { name: 'Password required' }).waitFor()
    expect(await recipient.getByTestId('path-line').count()).toBe(0)
    expect(await receipts(sender)).toEqual([])

    await recipient.getByLabel('Password', { exact: true }).fill('correct horse')
    await recipient.getByRole('button', { name: 'Unlock' }).click()
    expect(await settledPath(recipient)).toBe('direct')
    expect((await downloadOne(recipient, 'Download locked.bin', files.dir)).sha).toBe(await sha256File(path))
    await expect.poll(() => receipts(sender)).toEqual([['direct', 'done', '100']])
  })

  it('a one-download link serves exactly one recipient across both paths: after a direct download, neither the page, the link room nor the cloud copy serves another', async () => {
    const path = randomFile(files.dir, 'once.bin', 96 * KiB)
    const sender = await person(browser, contexts)
    const link = await sendWithOneLink(sender, app.url, [path], { maxDownloads: '1' })
    await cloudCopyStored(sender)
    const id = shareIdOf(link)
    const meta = (await (await fetch(`${app.url}/api/shares/${id}`)).json()) as { files: { id: string }[] }

    const first = await person(browser, contexts)
    await first.goto(link)
    expect(await settledPath(first)).toBe('direct')
    expect((await downloadOne(first, 'Download once.bin', files.dir)).sha).toBe(await sha256File(path))
    await expect.poll(() => receipts(sender)).toEqual([['direct', 'done', '100']])

    const second = await person(browser, contexts)
    await second.goto(link)
    await second.getByRole('heading', { name: 'This link has expired or does not exist' }).waitFor()
    const cloud = await fetch(`${app.url}/api/shares/${id}/files/${meta.files[0]!.id}/download`, { method: 'POST' })
    expect(cloud.status).toBe(404)
    const s = await roomsSocket(app.url)
    try {
      const join = (await s.timeout(5000).emitWithAck('link:join', { shareId: id })) as { ok: boolean; error?: { code: string } }
      expect(join.error?.code).toBe('share_not_found')
    } finally {
      s.disconnect()
    }
    expect(await receipts(sender)).toEqual([['direct', 'done', '100']])
  })

  it('with end-to-end encryption the cloud copy is ciphertext, and the direct path and the cloud copy deliver the same plaintext', async () => {
    const marker = `ONE-LINK-PLAINTEXT-${randomBytes(4).toString('hex')}`
    const path = join(files.dir, 'secret.txt')
    writeFileSync(path, Buffer.concat([Buffer.from(marker), randomBytes(100 * KiB), Buffer.from(marker)]))
    const expected = await sha256File(path)
    const sender = await person(browser, contexts)
    const link = await sendWithOneLink(sender, app.url, [path], { encrypted: true })
    expect(link).toMatch(/#/)
    await cloudCopyStored(sender)
    const stored = filesUnder(join(app.dataDir, 'blobs')).map((f) => readFileSync(f))
    expect(stored.length).toBeGreaterThan(0)
    expect(stored.some((b) => b.includes(marker))).toBe(false)

    const first = await person(browser, contexts)
    await first.goto(link)
    expect(await settledPath(first)).toBe('direct')
    expect((await downloadOne(first, 'Download secret.txt', files.dir)).sha).toBe(expected)

    await sender.context().close()
    const second = await person(browser, contexts)
    await second.goto(link)
    expect(await settledPath(second)).toBe('cloud')
    expect((await downloadOne(second, 'Download secret.txt', files.dir)).sha).toBe(expected)
  })

  it('without a cloud copy and with the sender gone, the page says the sender is offline, offers to notify, and goes direct when the sender is back', async () => {
    const path = randomFile(files.dir, 'later.bin', 32 * KiB)
    const sender = await person(browser, contexts)
    const link = await sendWithOneLink(sender, app.url, [path], { copy: false })
    // The sender moves on to another page of the app: the link is no longer served.
    await sender.getByRole('link', { name: 'Share more files' }).click()
    await sender.waitForURL(`${app.url}/`)
    const recipient = await person(browser, contexts)
    await recipient.goto(link)
    expect(await settledPath(recipient)).toBe('offline')
    await expect.poll(() => recipient.getByTestId('path-line').textContent()).toMatch(/The sender is offline/)
    await recipient.getByRole('button', { name: 'Notify me when the sender is back' }).click()
    await recipient.getByTestId('notify-on').waitFor()
    // Back on the link's page (the files are still in that page): it serves the link again.
    await sender.goBack()
    await sender.locator('[data-testid=host-line][data-hosting=yes]').waitFor()
    await recipient.locator('[data-testid=path-line][data-path=direct]').waitFor()
    await expect.poll(() => recipient.getByTestId('path-line').textContent()).toMatch(/The sender is back online/)
    expect((await downloadOne(recipient, 'Download later.bin', files.dir)).sha).toBe(await sha256File(path))
  })
})
