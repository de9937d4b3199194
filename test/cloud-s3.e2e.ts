/**
 * The same browser upload and download against S3-compatible storage (s3rver on loopback, with the
 * CORS rules a real bucket needs): parts are PUT cross-origin straight to presigned S3 URLs, the
 * ETags come back through CORS, and recipients download from a presigned GET.
 */
import { join } from 'node:path'
import type { Browser, BrowserContext, Request } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startS3 } from '../backend/test/support/services'
import { startApp, type AppProcess } from './support/app-server'
import { launchBrowser } from './support/browser'
import { chooseFiles, submitUpload, waitForResult } from './support/cloud-ui'
import { randomFile, sha256File, tempDir } from './support/files'

const MiB = 1024 * 1024

let s3: Awaited<ReturnType<typeof startS3>>
let app: AppProcess
let browser: Browser
let files: ReturnType<typeof tempDir>
const contexts: BrowserContext[] = []

beforeAll(async () => {
  files = tempDir()
  s3 = await startS3()
  ;[app, browser] = await Promise.all([
    startApp({ ...s3.env, PART_SIZE: '5MiB', UPLOAD_RATE_LIMIT: '1000/1h', SHARE_CREATE_RATE_LIMIT: '1000/1h' }),
    launchBrowser(),
  ])
})

afterAll(async () => {
  await Promise.all(contexts.map((c) => c.close().catch(() => undefined)))
  await browser?.close()
  await app?.stop()
  await s3?.stop()
  files?.remove()
})

describe('cloud links on S3 storage', () => {
  it('parts go straight to S3 from the browser and the download is byte-identical', async () => {
    const path = randomFile(files.dir, 'to-s3.bin', 23 * MiB + 5)
    const expected = await sha256File(path)

    const sender = await browser.newContext()
    contexts.push(sender)
    const page = await sender.newPage()
    const partHosts = new Set<string>()
    page.on('request', (req: Request) => {
      if (req.method() === 'PUT') partHosts.add(new URL(req.url()).origin)
    })
    await chooseFiles(page, app.url, [path])
    await submitUpload(page)
    const link = await waitForResult(page)
    // Every part went to the storage server, none through the app.
    expect([...partHosts]).toEqual([s3.url])

    const recipient = await browser.newContext({ acceptDownloads: true })
    contexts.push(recipient)
    const rp = await recipient.newPage()
    await rp.goto(link)
    const [download] = await Promise.all([rp.waitForEvent('download'), rp.getByRole('button', { name: 'Download to-s3.bin' }).click()])
    expect(download.suggestedFilename()).toBe('to-s3.bin')
    const saved = join(files.dir, 'from-s3.bin')
    await download.saveAs(saved)
    expect(await sha256File(saved)).toBe(expected)
  })
})
