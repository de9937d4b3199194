/**
 * One link, two paths: how long a recipient waits, from opening the link to the file's first bytes,
 * on each path. Prints JSON, asserts nothing.
 *
 *   pnpm build && pnpm bench:one-link            # 3 rounds, 64 KiB
 *   BENCH_ONE_LINK_ROUNDS=5 BENCH_ONE_LINK_SIZE=1MiB pnpm bench:one-link
 *
 * Each round, in headless Chromium on loopback, a sender's result page hosts a fresh link (its cloud
 * copy stored) and a new recipient context opens the share page and clicks Download at once:
 *   direct — the sender's page is open: WebRTC straight between the two contexts;
 *   relay  — the recipient's WebRTC may only use relay candidates and there is no TURN: the
 *            server relay stands in once the direct attempt has failed;
 *   cloud  — the sender's page is closed: the cloud copy.
 * The figure is "open → download": from `goto` to the browser's download event. For the cloud path
 * that is the response's headers (the first byte); for the direct paths a small file is whole by
 * then (received, verified, handed to the downloads), so it is the first byte plus one file's worth.
 * Beside them, the bare floor of the same run: the share page's own load (`goto` → load event).
 */
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { parseSize } from '../backend/src/config'
import { startApp } from '../test/support/app-server'
import { launchBrowser } from '../test/support/browser'
import { randomFile, tempDir } from '../test/support/files'

/** Relay-only ICE (as test/support/p2p.ts): with no TURN server, no candidate pair can ever form. */
const RELAY_ONLY = `{
  const Native = window.RTCPeerConnection
  window.RTCPeerConnection = class extends Native {
    constructor(config) { super({ ...(config || {}), iceTransportPolicy: 'relay' }) }
  }
}`

const env = process.env
const SIZE = parseSize(env.BENCH_ONE_LINK_SIZE ?? '64KiB') ?? 65_536
const ROUNDS = Math.max(1, Number(env.BENCH_ONE_LINK_ROUNDS ?? 3))
const progress = (msg: string) => process.stderr.write(`[bench:one-link] ${msg}\n`)
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0

async function open(browser: Browser, contexts: BrowserContext[], init?: string): Promise<Page> {
  const context = await browser.newContext({ acceptDownloads: true })
  contexts.push(context)
  if (init) await context.addInitScript(init)
  return context.newPage()
}

/** goto → download event (the button clicked as soon as it shows); and goto → load, the floor. */
async function openToDownload(page: Page, link: string, name: string): Promise<{ downloadMs: number; loadMs: number; path: string }> {
  const t0 = performance.now()
  let loadMs = 0
  page.once('load', () => (loadMs = performance.now() - t0))
  const download = page.waitForEvent('download', { timeout: 60_000 })
  await page.goto(link)
  await page.getByRole('button', { name: `Download ${name}` }).click()
  await download
  const downloadMs = performance.now() - t0
  const path = (await page.getByTestId('path-line').getAttribute('data-path')) ?? 'none'
  return { downloadMs: Math.round(downloadMs), loadMs: Math.round(loadMs), path }
}

/** The home page's one link: files picked, link created, its page hosting it and its cloud copy stored. */
async function sendWithOneLink(page: Page, baseUrl: string, path: string): Promise<string> {
  await page.goto(`${baseUrl}/`)
  await page.getByTestId('file-input').setInputFiles([path])
  await page.getByRole('button', { name: 'Upload and create link' }).click()
  await page.locator('[data-testid=host-line][data-hosting=yes]').waitFor({ timeout: 60_000 })
  await page.locator('[data-testid=cloud-copy][data-state=done]').waitFor({ timeout: 60_000 })
  return page.getByTestId('share-url').inputValue()
}

async function main() {
  const files = tempDir()
  const [app, browser] = await Promise.all([startApp({ UPLOAD_RATE_LIMIT: '1000/1h', SHARE_CREATE_RATE_LIMIT: '1000/1h' }), launchBrowser()])
  const contexts: BrowserContext[] = []
  const runs: Record<'direct' | 'relay' | 'cloud', { downloadMs: number; loadMs: number; path: string }[]> = { direct: [], relay: [], cloud: [] }
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const name = `one-link-${round}.bin`
      const file = randomFile(files.dir, name, SIZE)
      const sender = await open(browser, contexts)
      const link = await sendWithOneLink(sender, app.url, file)
      runs.direct.push(await openToDownload(await open(browser, contexts), link, name))
      runs.relay.push(await openToDownload(await open(browser, contexts, RELAY_ONLY), link, name))
      await sender.context().close()
      runs.cloud.push(await openToDownload(await open(browser, contexts), link, name))
      progress(`round ${round + 1}/${ROUNDS}: direct ${runs.direct.at(-1)!.downloadMs} ms, relay ${runs.relay.at(-1)!.downloadMs} ms, cloud ${runs.cloud.at(-1)!.downloadMs} ms`)
      for (const c of contexts.splice(0)) await c.close().catch(() => undefined)
    }
  } finally {
    for (const c of contexts) await c.close().catch(() => undefined)
    await browser.close()
    await app.stop()
    files.remove()
  }
  const summary = (xs: (typeof runs)['direct']) => ({
    openToDownloadMs: { median: median(xs.map((x) => x.downloadMs)), all: xs.map((x) => x.downloadMs) },
    pageLoadMs: median(xs.map((x) => x.loadMs)),
    pathsSeen: [...new Set(xs.map((x) => x.path))],
  })
  process.stdout.write(
    `${JSON.stringify({ bench: 'one-link', size: SIZE, rounds: ROUNDS, direct: summary(runs.direct), relay: summary(runs.relay), cloud: summary(runs.cloud) }, null, 2)}\n`,
  )
}

await main()
