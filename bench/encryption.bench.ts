/**
 * End-to-end encryption benchmark: the web app in headless Chromium uploads the same file to the disk
 * store with and without "End-to-end encryption", then downloads each (the encrypted one decrypted
 * in the page and streamed through the service worker). Prints JSON; asserts nothing.
 *
 *   pnpm build && pnpm bench:encryption           # 1 GiB, disk store, PGlite
 *   BENCH_SIZE=256MiB pnpm bench:encryption       # a quick run
 *
 * Switches: BENCH_SIZE (1GiB), BENCH_ROUNDS (1: plain then encrypted, alternating per round),
 * BENCH_PART_SIZE (the app's default, 16MiB), BENCH_FIREFOX (1: a plain and an encrypted upload from
 * Firefox ESR at the end, with its parent process's memory; 0 skips them).
 *
 * Besides the speeds it reports the CPU seconds each transfer cost the browser (all its processes)
 * and the app server: on this shared machine the speeds move with the load, the CPU much less. Each
 * upload also reports the RSS of Chromium's browser process (where Blobs and request bodies live) at
 * its start, its peak and its end, with the page still open: an upload that keeps its parts in
 * memory shows its whole size there. Each round ends with the bare mechanism under the decrypted
 * download (`bareServiceWorker`): the same file from a bare server, downloaded straight and through
 * a service worker that passes the chunks on unchanged (bench/support/sw-passthrough.ts).
 */
import { randomBytes } from 'node:crypto'
import { closeSync, openSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { parseSize } from '../backend/src/config'
import { startApp, type AppProcess } from '../test/support/app-server'
import { launchBrowser } from '../test/support/browser'
import { tempDir } from '../test/support/files'
import { firefoxUploads } from './support/firefox-upload'
import { chromiumBrowserPid, cpuSeconds, mib, rssBytes, treeCpuSeconds } from './support/rss'
import { measurePassThrough, type PassThroughLeg } from './support/sw-passthrough'

const env = process.env
const SIZE = parseSize(env.BENCH_SIZE ?? '1GiB') ?? 2 ** 30
const ROUNDS = Math.max(1, Number(env.BENCH_ROUNDS ?? 1))
const PART_SIZE = env.BENCH_PART_SIZE ?? '16MiB'
const FIREFOX = env.BENCH_FIREFOX !== '0'

const progress = (msg: string) => process.stderr.write(`[bench] ${msg}\n`)
const mibPerSec = (bytes: number, ms: number) => Math.round((bytes / 2 ** 20 / (ms / 1000)) * 10) / 10
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

function writeRandom(path: string, size: number) {
  const fd = openSync(path, 'w')
  try {
    for (let at = 0; at < size; at += 4 * 2 ** 20) writeSync(fd, randomBytes(Math.min(4 * 2 ** 20, size - at)))
  } finally {
    closeSync(fd)
  }
}

interface Cpu {
  browser: number
  server: number
}

/** CPU seconds used so far by the browser's processes and by the app server. */
function cpuNow(server: number): Cpu {
  return { browser: treeCpuSeconds(process.pid, [server]), server: cpuSeconds(server) }
}

const cpuSince = (start: Cpu, server: number): Cpu => {
  const now = cpuNow(server)
  return { browser: round2(now.browser - start.browser), server: round2(now.server - start.server) }
}
const round2 = (n: number) => Math.round(n * 100) / 100

/** The browser process's RSS in MiB while an upload runs: at its start, its peak, and at its end (the page still open). */
interface BrowserRss {
  startMiB: number
  peakMiB: number
  endMiB: number
}

async function upload(browser: Browser, base: string, server: number, path: string, encrypted: boolean): Promise<{ ms: number; cpu: Cpu; link: string; browserRss: BrowserRss }> {
  const context = await browser.newContext()
  const browserPid = chromiumBrowserPid(process.pid)
  try {
    const page = await context.newPage()
    await page.goto(`${base}/`)
    await page.getByTestId('file-input').setInputFiles([path])
    await page.getByRole('heading', { name: 'Create a link' }).waitFor()
    if (encrypted) await page.getByLabel('End-to-end encryption').check()
    const cpu = cpuNow(server)
    const rssNow = () => (browserPid === null ? 0 : (rssBytes(browserPid) ?? 0))
    const rss = { start: rssNow(), peak: 0 }
    const sampler = setInterval(() => (rss.peak = Math.max(rss.peak, rssNow())), 250)
    const started = performance.now()
    await page.getByRole('button', { name: 'Upload and create link' }).click()
    // The result page opens at once; the upload is the cloud copy, going on in the background.
    await page.waitForURL(/\/links\//, { timeout: 3_600_000 })
    // (a locator, not a function string: the app's CSP forbids eval)
    const settled = page.locator(['done', 'failed', 'cancelled'].map((s) => `[data-testid=cloud-copy][data-state=${s}]`).join(', '))
    await settled.waitFor({ timeout: 3_600_000 })
    const ms = performance.now() - started
    const used = cpuSince(cpu, server)
    clearInterval(sampler)
    const end = rssNow()
    const browserRss = { startMiB: mib(rss.start), peakMiB: mib(Math.max(rss.peak, end)), endMiB: mib(end) }
    if ((await settled.getAttribute('data-state')) !== 'done') throw new Error(`the ${encrypted ? 'encrypted' : 'plain'} upload failed`)
    await page.getByRole('heading', { name: 'Your link is ready' }).waitFor()
    const link = await page.getByTestId('share-url').inputValue()
    // The sender leaves the link's page, so the recipient gets the cloud copy (not a direct transfer).
    await page.getByRole('link', { name: 'Share more files' }).click()
    await page.waitForURL((u) => u.pathname === '/')
    return { ms, cpu: used, link, browserRss }
  } finally {
    await context.close()
  }
}

async function download(browser: Browser, server: number, link: string, name: string): Promise<{ ms: number; cpu: Cpu }> {
  const context = await browser.newContext({ acceptDownloads: true })
  try {
    const page: Page = await context.newPage()
    await page.goto(link)
    const button = page.getByRole('button', { name: `Download ${name}` })
    await button.waitFor({ timeout: 60_000 })
    const cpu = cpuNow(server)
    const started = performance.now()
    const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 3_600_000 }), button.click()])
    const saved = await dl.path()
    const ms = performance.now() - started
    const used = cpuSince(cpu, server)
    const failure = await dl.failure()
    if (failure) throw new Error(`download failed: ${failure}`)
    rmSync(saved, { force: true })
    return { ms, cpu: used }
  } finally {
    await context.close()
  }
}

async function main() {
  const files = tempDir('sharesync-bench-')
  let app: AppProcess | null = null
  let browser: Browser | null = null
  try {
    const name = 'bench-e2e.bin'
    const path = join(files.dir, name)
    progress(`writing ${SIZE} random bytes`)
    writeRandom(path, SIZE)
    ;[app, browser] = await Promise.all([
      startApp({
        LOG_LEVEL: 'warn',
        UPLOAD_RATE_LIMIT: '1000000/1m',
        DOWNLOAD_RATE_LIMIT: '1000000/1m',
        PART_SIGN_RATE_LIMIT: '1000000/1m',
        MAX_FILE_SIZE: '1TiB',
        ANON_MAX_FILE_SIZE: '1TiB',
        DAILY_QUOTA: '100TiB',
        ANON_DAILY_QUOTA: '100TiB',
        PART_SIZE,
      }),
      launchBrowser(),
    ])
    const pid = app.proc.pid!
    type Leg = { ms: number; cpu: Cpu; browserRss?: BrowserRss }
    const none = (): Leg => ({ ms: 0, cpu: { browser: 0, server: 0 } })
    const runs: Record<'plain' | 'encrypted', { up: Leg; down: Leg }>[] = []
    const floors: { direct: PassThroughLeg; throughWorker: PassThroughLeg }[] = []
    for (let round = 0; round < ROUNDS; round++) {
      const result = { plain: { up: none(), down: none() }, encrypted: { up: none(), down: none() } }
      // Alternate which goes first, so that a warming or cooling machine does not favour one.
      const order: ('plain' | 'encrypted')[] = round % 2 === 0 ? ['plain', 'encrypted'] : ['encrypted', 'plain']
      for (const kind of order) {
        progress(`round ${round + 1}: ${kind} upload`)
        const { link, ...up } = await upload(browser, app.url, pid, path, kind === 'encrypted')
        result[kind].up = up
        progress(`round ${round + 1}: ${kind} download`)
        result[kind].down = await download(browser, pid, link, name)
      }
      runs.push(result)
      progress(`round ${round + 1}: bare downloads, straight and through a pass-through service worker`)
      floors.push(await measurePassThrough(browser, path, () => treeCpuSeconds(process.pid, [pid])))
    }
    if (FIREFOX) progress('Firefox ESR: a plain and an encrypted upload')
    const firefox = FIREFOX ? await firefoxUploads(app.url, path) : null
    const pick = (kind: 'plain' | 'encrypted', leg: 'up' | 'down') => runs.map((r) => r[kind][leg])
    const speed = (kind: 'plain' | 'encrypted', leg: 'up' | 'down') => mibPerSec(SIZE, median(pick(kind, leg).map((l) => l.ms)))
    // CPU seconds per GiB moved, medians over the rounds.
    const perGiB = (kind: 'plain' | 'encrypted', leg: 'up' | 'down') => ({
      browser: round2(median(pick(kind, leg).map((l) => l.cpu.browser)) / (SIZE / 2 ** 30)),
      server: round2(median(pick(kind, leg).map((l) => l.cpu.server)) / (SIZE / 2 ** 30)),
    })
    const plainUp = speed('plain', 'up')
    const encUp = speed('encrypted', 'up')
    const plainDown = speed('plain', 'down')
    const encDown = speed('encrypted', 'down')
    const out = {
      bench: 'end-to-end encryption through the web app (headless Chromium, disk store, PGlite)',
      sizeBytes: SIZE,
      rounds: ROUNDS,
      partSize: PART_SIZE,
      upload: { plainMiBps: plainUp, encryptedMiBps: encUp, ratio: round2(encUp / plainUp) },
      download: { plainMiBps: plainDown, decryptedMiBps: encDown, ratio: round2(encDown / plainDown) },
      // The floor under the decrypted download: a bare server's file, straight and through a
      // service worker that only passes the chunks on (same browser, same rounds).
      bareServiceWorker: (() => {
        const direct = mibPerSec(SIZE, median(floors.map((f) => f.direct.ms)))
        const through = mibPerSec(SIZE, median(floors.map((f) => f.throughWorker.ms)))
        return {
          directMiBps: direct,
          passThroughMiBps: through,
          ratio: round2(through / direct),
          browserCpuSecondsPerGiB: {
            direct: round2(median(floors.map((f) => f.direct.browserCpu)) / (SIZE / 2 ** 30)),
            passThrough: round2(median(floors.map((f) => f.throughWorker.browserCpu)) / (SIZE / 2 ** 30)),
          },
        }
      })(),
      ...(firefox
        ? {
            firefoxUpload: {
              plainMiBps: mibPerSec(SIZE, firefox.plain.ms),
              encryptedMiBps: mibPerSec(SIZE, firefox.encrypted.ms),
              ratio: round2(firefox.plain.ms / firefox.encrypted.ms),
              parentRss: { plain: firefox.plain.parentRss, encrypted: firefox.encrypted.parentRss },
            },
          }
        : {}),
      cpuSecondsPerGiB: {
        upload: { plain: perGiB('plain', 'up'), encrypted: perGiB('encrypted', 'up') },
        download: { plain: perGiB('plain', 'down'), decrypted: perGiB('encrypted', 'down') },
      },
      runs: runs.map((r) => ({
        plain: { upMs: Math.round(r.plain.up.ms), downMs: Math.round(r.plain.down.ms), upCpu: r.plain.up.cpu, downCpu: r.plain.down.cpu, upBrowserRss: r.plain.up.browserRss },
        encrypted: { upMs: Math.round(r.encrypted.up.ms), downMs: Math.round(r.encrypted.down.ms), upCpu: r.encrypted.up.cpu, downCpu: r.encrypted.down.cpu, upBrowserRss: r.encrypted.up.browserRss },
      })),
    }
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`)
  } finally {
    await browser?.close().catch(() => undefined)
    await app?.stop()
    files.remove()
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exit(1)
})
