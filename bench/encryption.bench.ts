/**
 * End-to-end encryption benchmark: the web app in headless Chromium uploads the same file to the disk
 * store with and without "End-to-end encryption", then downloads each (the encrypted one decrypted
 * in the page and streamed through the service worker). Prints JSON; asserts nothing.
 *
 *   pnpm build && pnpm bench:encryption           # 1 GiB, disk store, PGlite
 *   BENCH_SIZE=256MiB pnpm bench:encryption       # a quick run
 *
 * Switches: BENCH_SIZE (1GiB), BENCH_ROUNDS (1: plain then encrypted, alternating per round),
 * BENCH_PART_SIZE (the app's default, 16MiB).
 */
import { randomBytes } from 'node:crypto'
import { closeSync, openSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { parseSize } from '../backend/src/config'
import { startApp, type AppProcess } from '../test/support/app-server'
import { launchBrowser } from '../test/support/browser'
import { tempDir } from '../test/support/files'

const env = process.env
const SIZE = parseSize(env.BENCH_SIZE ?? '1GiB') ?? 2 ** 30
const ROUNDS = Math.max(1, Number(env.BENCH_ROUNDS ?? 1))
const PART_SIZE = env.BENCH_PART_SIZE ?? '16MiB'

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

async function upload(browser: Browser, base: string, path: string, encrypted: boolean): Promise<{ ms: number; link: string }> {
  const context = await browser.newContext()
  try {
    const page = await context.newPage()
    await page.goto(`${base}/`)
    await page.getByTestId('file-input').setInputFiles([path])
    await page.getByRole('heading', { name: 'Create a link' }).waitFor()
    if (encrypted) await page.getByLabel('End-to-end encryption').check()
    const started = performance.now()
    await page.getByRole('button', { name: 'Upload and create link' }).click()
    await page.waitForURL(/\/links\//, { timeout: 3_600_000 })
    const ms = performance.now() - started
    await page.getByRole('heading', { name: 'Your link is ready' }).waitFor()
    const link = await page.getByTestId('share-url').inputValue()
    return { ms, link }
  } finally {
    await context.close()
  }
}

async function download(browser: Browser, link: string, name: string): Promise<number> {
  const context = await browser.newContext({ acceptDownloads: true })
  try {
    const page: Page = await context.newPage()
    await page.goto(link)
    const button = page.getByRole('button', { name: `Download ${name}` })
    await button.waitFor({ timeout: 60_000 })
    const started = performance.now()
    const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 3_600_000 }), button.click()])
    const saved = await dl.path()
    const ms = performance.now() - started
    const failure = await dl.failure()
    if (failure) throw new Error(`download failed: ${failure}`)
    rmSync(saved, { force: true })
    return ms
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
    const runs: { plain: { up: number; down: number }; encrypted: { up: number; down: number } }[] = []
    for (let round = 0; round < ROUNDS; round++) {
      const result = { plain: { up: 0, down: 0 }, encrypted: { up: 0, down: 0 } }
      // Alternate which goes first, so that a warming or cooling machine does not favour one.
      const order: ('plain' | 'encrypted')[] = round % 2 === 0 ? ['plain', 'encrypted'] : ['encrypted', 'plain']
      for (const kind of order) {
        progress(`round ${round + 1}: ${kind} upload`)
        const { ms, link } = await upload(browser, app.url, path, kind === 'encrypted')
        result[kind].up = ms
        progress(`round ${round + 1}: ${kind} download`)
        result[kind].down = await download(browser, link, name)
      }
      runs.push(result)
    }
    const figure = (pick: (r: (typeof runs)[number]) => number) => mibPerSec(SIZE, median(runs.map(pick)))
    const plainUp = figure((r) => r.plain.up)
    const encUp = figure((r) => r.encrypted.up)
    const plainDown = figure((r) => r.plain.down)
    const encDown = figure((r) => r.encrypted.down)
    const out = {
      bench: 'end-to-end encryption through the web app (headless Chromium, disk store, PGlite)',
      sizeBytes: SIZE,
      rounds: ROUNDS,
      partSize: PART_SIZE,
      upload: { plainMiBps: plainUp, encryptedMiBps: encUp, ratio: Math.round((encUp / plainUp) * 100) / 100 },
      download: { plainMiBps: plainDown, decryptedMiBps: encDown, ratio: Math.round((encDown / plainDown) * 100) / 100 },
      runsMs: runs.map((r) => ({ plain: { up: Math.round(r.plain.up), down: Math.round(r.plain.down) }, encrypted: { up: Math.round(r.encrypted.up), down: Math.round(r.encrypted.down) } })),
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
