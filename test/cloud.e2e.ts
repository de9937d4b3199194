/**
 * Cloud links end to end: the built server and the web app in real headless Chromium.
 * Uploader and recipients use separate browser contexts (separate cookies and storage), as two people would.
 */
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp, type AppProcess } from './support/app-server'
import { launchBrowser } from './support/browser'
import { createLink, chooseFiles, leaveResult, submitUpload, waitForResult } from './support/cloud-ui'
import { randomFile, sha256File, tempDir } from './support/files'
import { decodeQr, readPercents, readUploadTexts, recordUploadPercents } from './support/pages'

const MiB = 1024 * 1024

let app: AppProcess
let browser: Browser
let files: ReturnType<typeof tempDir>
const contexts: BrowserContext[] = []

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ acceptDownloads: true })
  contexts.push(context)
  return context.newPage()
}

/** Clicks the download button of `fileName` on a share page and returns the SHA-256 of the saved file. */
async function downloadAndHash(page: Page, fileName: string, savedAs = fileName): Promise<string> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: `Download ${fileName}` }).click()])
  // The browser picks the saved name from Content-Disposition (and replaces characters like < > itself).
  expect(download.suggestedFilename()).toBe(savedAs)
  const saved = join(files.dir, `downloaded-${Date.now()}`)
  await download.saveAs(saved)
  return sha256File(saved)
}

beforeAll(async () => {
  files = tempDir()
  ;[app, browser] = await Promise.all([startApp({ UPLOAD_RATE_LIMIT: '1000/1h', SHARE_CREATE_RATE_LIMIT: '1000/1h' }), launchBrowser()])
})

afterAll(async () => {
  await Promise.all(contexts.map((c) => c.close().catch(() => undefined)))
  await browser?.close()
  await app?.stop()
  files?.remove()
})

describe('cloud links in the browser', () => {
  it('a 100 MB file uploaded in one browser downloads byte-identical in another, with progress that moves and reaches 100 %', async () => {
    const path = randomFile(files.dir, 'big-100MB.bin', 100 * MiB)
    const expected = await sha256File(path)

    const sender = await newPage()
    // A known uplink (40 MiB/s, about 2.5 s for the file): on a fast machine the upload would end
    // before the speed's first second-long window, so speed and time left would never show.
    const cdp = await sender.context().newCDPSession(sender)
    await cdp.send('Network.enable')
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 40 * MiB })
    await chooseFiles(sender, app.url, [path])
    await recordUploadPercents(sender)
    await submitUpload(sender)
    const link = await waitForResult(sender)
    // The cloud path: the sender's page no longer serves the link directly.
    await leaveResult(sender)

    const percents = await readPercents(sender)
    expect(
      percents.some((p) => p > 0 && p < 100),
      `percentages seen: ${percents.join(', ')}`,
    ).toBe(true)
    expect(percents[percents.length - 1]).toBe(100)
    expect(percents).toEqual([...percents].sort((a, b) => a - b))
    // Speed and time left were shown while it ran.
    const texts = await readUploadTexts(sender)
    expect(
      texts.some((t) => /^upload-speed:[\d.]+ (kB|MB|GB)\/s$/.test(t)),
      texts.join(', '),
    ).toBe(true)
    expect(
      texts.some((t) => /^upload-eta:\d+ sec$|^upload-eta:\d+ min/.test(t)),
      texts.join(', '),
    ).toBe(true)

    const recipient = await newPage()
    await recipient.goto(link)
    await expect.poll(() => recipient.getByTestId('file-name').textContent()).toBe('big-100MB.bin')
    await expect.poll(() => recipient.getByText('105 MB').count()).toBeGreaterThan(0)
    expect(await downloadAndHash(recipient, 'big-100MB.bin')).toBe(expected)
  })

  it('the QR code on the result page decodes to the share link', async () => {
    const path = randomFile(files.dir, 'qr.txt', 1000)
    const page = await newPage()
    const link = await createLink(page, app.url, [path])
    const qr = page.getByTestId('qr-code')
    await qr.waitFor()
    expect(await qr.getAttribute('alt')).toContain(link)
    expect(await decodeQr(qr)).toBe(link)
  })

  it('a password share hides file names, rejects a wrong password and downloads with the right one', async () => {
    const path = randomFile(files.dir, 'secret-report.pdf', 3 * MiB + 17)
    const expected = await sha256File(path)
    const sender = await newPage()
    const link = await createLink(sender, app.url, [path], { password: 'correct horse battery' })
    await leaveResult(sender)

    const visitor = await newPage()
    await visitor.goto(link)
    await visitor.getByRole('heading', { name: 'Password required' }).waitFor()
    expect(await visitor.content()).not.toContain('secret-report')

    await visitor.getByLabel('Password', { exact: true }).fill('wrong password')
    await visitor.getByRole('button', { name: 'Unlock' }).click()
    await expect.poll(() => visitor.getByRole('alert').textContent()).toContain('Wrong password')
    expect(await visitor.getByTestId('file-name').count()).toBe(0)

    await visitor.getByLabel('Password', { exact: true }).fill('correct horse battery')
    await visitor.getByRole('button', { name: 'Unlock' }).click()
    await expect.poll(() => visitor.getByTestId('file-name').textContent()).toBe('secret-report.pdf')
    expect(await downloadAndHash(visitor, 'secret-report.pdf')).toBe(expected)
  })

  it('a one-download link works once; the second visitor sees "expired or does not exist"', async () => {
    const path = randomFile(files.dir, 'licence-key.txt', 4096)
    const expected = await sha256File(path)
    const sender = await newPage()
    const link = await createLink(sender, app.url, [path], { maxDownloads: '1' })
    expect(await sender.getByTestId('result-downloads').textContent()).toContain('1')
    const result = sender.url()
    await leaveResult(sender)

    const first = await newPage()
    await first.goto(link)
    await expect.poll(() => first.getByTestId('downloads-left').textContent()).toBe('1 download left')
    expect(await downloadAndHash(first, 'licence-key.txt')).toBe(expected)

    const second = await newPage()
    await second.goto(link)
    await second.getByRole('heading', { name: 'This link has expired or does not exist' }).waitFor()
    expect(await second.getByRole('button', { name: /Download/ }).count()).toBe(0)

    // The sender, back on their result page, is told it was collected (not "ask the sender").
    await sender.goto(result)
    await sender.getByRole('heading', { name: 'Your link was downloaded' }).waitFor()
    expect(await sender.getByTestId('link-ended-text').textContent()).toMatch(/^Downloaded .+\. It allowed one download, so it is now closed/)
    await sender.getByRole('button', { name: 'Remove it now' }).click()
    await sender.waitForURL((u) => u.pathname === '/')
  })

  it('a one-download link of two files: the first visitor gets both files (one download), the second nothing', async () => {
    const a = randomFile(files.dir, 'part-a.bin', 300_000)
    const b = randomFile(files.dir, 'part-b.bin', 5000)
    const sender = await newPage()
    const link = await createLink(sender, app.url, [a, b], { maxDownloads: '1' })
    await leaveResult(sender)

    const first = await newPage()
    await first.goto(link)
    await expect.poll(() => first.getByTestId('downloads-left').textContent()).toBe('1 download left')
    expect(await first.getByTestId('download-rule').textContent()).toContain('all 2 files')
    expect(await downloadAndHash(first, 'part-a.bin')).toBe(await sha256File(a))
    // the visitor's download is the whole share: the other file still comes, and the count says so
    expect(await first.getByTestId('downloads-left').textContent()).toBe('0 downloads left after yours')
    expect(await downloadAndHash(first, 'part-b.bin')).toBe(await sha256File(b))

    const second = await newPage()
    await second.goto(link)
    await second.getByRole('heading', { name: 'This link has expired or does not exist' }).waitFor()
  })

  it('several files at once, including an empty one, arrive intact', async () => {
    const a = randomFile(files.dir, 'photo one.jpg', 6 * MiB + 3)
    const empty = randomFile(files.dir, 'empty.txt', 0)
    const b = randomFile(files.dir, 'notes <img src=x onerror=alert(1)>.md', 1234)
    const sender = await newPage()
    const link = await createLink(sender, app.url, [a, empty, b])
    await leaveResult(sender)

    const visitor = await newPage()
    await visitor.goto(link)
    await visitor.getByRole('heading', { name: '3 files were shared with you' }).waitFor()
    // File names are text, never markup.
    expect(await visitor.getByTestId('file-name').allTextContents()).toEqual([
      'photo one.jpg',
      'empty.txt',
      'notes <img src=x onerror=alert(1)>.md',
    ])
    expect(await visitor.getByRole('list', { name: 'Shared files' }).locator('img').count()).toBe(0)
    expect(await downloadAndHash(visitor, 'photo one.jpg')).toBe(await sha256File(a))
    expect(await downloadAndHash(visitor, 'empty.txt')).toBe(await sha256File(empty))
    expect(await downloadAndHash(visitor, 'notes <img src=x onerror=alert(1)>.md', 'notes _img src=x onerror=alert(1)_.md')).toBe(
      await sha256File(b),
    )
  })

  it('the owner deletes the link from the result page and it stops working for everyone', async () => {
    const path = randomFile(files.dir, 'to-delete.bin', 2048)
    const sender = await newPage()
    const link = await createLink(sender, app.url, [path])
    await sender.getByRole('button', { name: 'Delete link' }).click()
    await sender.getByRole('dialog').getByRole('button', { name: 'Delete', exact: true }).click()
    await sender.waitForURL(`${app.url}/`)

    const visitor = await newPage()
    await visitor.goto(link)
    await visitor.getByRole('heading', { name: 'This link has expired or does not exist' }).waitFor()
  })

  it('files dropped anywhere on the page or pasted are picked up', async () => {
    const page = await newPage()
    await page.goto(`${app.url}/`)
    await page.getByRole('heading', { name: 'Share files, your way' }).waitFor()
    // What the browser delivers for a drag from the desktop, and for Ctrl+V of a copied file.
    await page.evaluate(() => {
      const transfer = new DataTransfer()
      transfer.items.add(new File(['hello from the desktop'], 'dropped.txt', { type: 'text/plain' }))
      const target = document.querySelector('footer') ?? document.body
      target.dispatchEvent(new DragEvent('dragenter', { dataTransfer: transfer, bubbles: true, cancelable: true }))
      target.dispatchEvent(new DragEvent('dragover', { dataTransfer: transfer, bubbles: true, cancelable: true }))
      target.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }))
    })
    await page.getByRole('heading', { name: 'Create a link' }).waitFor()
    await page.evaluate(() => {
      const clip = new DataTransfer()
      clip.items.add(new File([new Uint8Array([137, 80, 78, 71])], 'screenshot.png', { type: 'image/png' }))
      document.body.dispatchEvent(new ClipboardEvent('paste', { clipboardData: clip, bubbles: true, cancelable: true }))
    })
    const selected = page.getByRole('list', { name: 'Selected files' })
    await expect.poll(() => selected.getByRole('listitem').count()).toBe(2)
    expect(await selected.textContent()).toMatch(/dropped\.txt.*screenshot\.png/)

    await submitUpload(page)
    const link = await waitForResult(page)
    const visitor = await newPage()
    await visitor.goto(link)
    await visitor.getByRole('heading', { name: '2 files were shared with you' }).waitFor()
    expect(await visitor.getByTestId('file-name').allTextContents()).toEqual(['dropped.txt', 'screenshot.png'])
  })

  it('cancelling an upload stops it and removes the half-uploaded share from the server', async () => {
    const path = randomFile(files.dir, 'cancel-me.bin', 40 * MiB)
    const page = await newPage()
    // Hold the parts: the upload is caught in progress, as a person would catch a slow one.
    await page.route(/\/api\/blobs\/parts\//, () => undefined)
    await chooseFiles(page, app.url, [path])
    await submitUpload(page)
    await page.getByRole('heading', { name: 'Uploading…' }).waitFor()
    type Pending = { shareId: string; ownerToken: string; files: { fileId: string }[] }
    const pending = await page.evaluate(() => JSON.parse(localStorage.getItem('sharesync.pending-upload') ?? 'null') as Pending | null)
    expect(pending?.shareId).toMatch(/^[A-Za-z0-9_-]{22,}$/)
    // The uploader's view of the unfinished share: its stored parts.
    const partsOf = () =>
      fetch(`${app.url}/api/shares/${pending!.shareId}/files/${pending!.files[0]!.fileId}/parts`, {
        headers: { 'X-Owner-Token': pending!.ownerToken },
      })
    expect((await partsOf()).status).toBe(200)

    await page.getByRole('button', { name: 'Cancel upload' }).click()
    // Back to the options, files still chosen, to start again or change them.
    await page.getByText('Upload cancelled').waitFor()
    await page.getByRole('heading', { name: 'Create a link' }).waitFor()
    await expect.poll(async () => (await partsOf()).status).toBe(404)
    // Nothing is left to resume either.
    await page.reload()
    await page.getByRole('heading', { name: 'Share files, your way' }).waitFor()
    expect(await page.getByRole('heading', { name: 'Resume upload' }).count()).toBe(0)
  })

  it('more files than a link can hold are refused before anything is uploaded', async () => {
    const many = Array.from({ length: 101 }, (_, i) => randomFile(files.dir, `tiny-${i}.txt`, 1))
    const page = await newPage()
    await chooseFiles(page, app.url, many)
    await page.getByText('A link holds at most 100 files').waitFor()
    expect(await page.getByRole('button', { name: 'Upload and create link' }).isDisabled()).toBe(true)
    await page.getByRole('button', { name: 'Remove tiny-0.txt' }).click()
    expect(await page.getByRole('button', { name: 'Upload and create link' }).isEnabled()).toBe(true)
  })

  it('an unknown link shows the "expired or does not exist" page', async () => {
    const page = await newPage()
    await page.goto(`${app.url}/s/AAAAAAAAAAAAAAAAAAAAAA`)
    await page.getByRole('heading', { name: 'This link has expired or does not exist' }).waitFor()
  })
})
