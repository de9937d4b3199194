/**
 * What recipients get beyond single files, in real headless Chromium against the built app: a picked
 * and a dropped folder keep their tree, "Download all" gives a zip the real `unzip` opens, a one-time
 * zip works once, previews of an image, a video, a PDF and text render (and never count), HTML and
 * SVG never render or run, a note with HTML and links renders as text and safe links, a one-time
 * text shows once. Sender and recipient are separate browser contexts, as two people would be.
 */
import { execFile } from 'node:child_process'
import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { crc32, deflateSync } from 'node:zlib'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiOf, uploadShare, type Api } from '../backend/test/support/browser-upload'
import { browserFetch, CookieJar, signInFlow, startOAuthServer, type LocalOAuth } from '../backend/test/support/oauth'
import { startApp, type AppProcess } from './support/app-server'
import { launchBrowser } from './support/browser'
import { leaveResult, submitUpload, waitForResult } from './support/cloud-ui'
import { randomFile, sha256File, tempDir } from './support/files'
import { screenshot, VIEWPORTS } from './support/pages'

const run = promisify(execFile)
const MiB = 1024 * 1024

let app: AppProcess
let browser: Browser
let api: Api
let files: ReturnType<typeof tempDir>
const contexts: BrowserContext[] = []

beforeAll(async () => {
  files = tempDir()
  ;[app, browser] = await Promise.all([
    startApp({ PART_SIZE: '5MiB', UPLOAD_RATE_LIMIT: '1000/1h', SHARE_CREATE_RATE_LIMIT: '1000/1h' }),
    launchBrowser(),
  ])
  api = apiOf(app.url)
})

afterAll(async () => {
  await Promise.all(contexts.map((c) => c.close().catch(() => undefined)))
  await browser?.close()
  await app?.stop()
  files?.remove()
})

/** A page in its own context; every dialog (alert, confirm) it ever opens is recorded. */
async function newPage(opts: Parameters<Browser['newContext']>[0] = {}): Promise<{ page: Page; dialogs: string[] }> {
  const context = await browser.newContext({ acceptDownloads: true, ...opts })
  contexts.push(context)
  const page = await context.newPage()
  const dialogs: string[] = []
  page.on('dialog', (d) => {
    dialogs.push(d.message())
    void d.dismiss()
  })
  return { page, dialogs }
}

/** Unzips with the real `unzip`; every file's path (inside the zip) and SHA-256. */
async function unzipped(zipPath: string): Promise<Record<string, string>> {
  const out = join(files.dir, `unzipped-${Date.now()}-${Math.random().toString(36).slice(2)}`)
  await run('unzip', ['-q', zipPath, '-d', out])
  const { stdout } = await run('find', ['.', '-type', 'f'], { cwd: out })
  const result: Record<string, string> = {}
  for (const path of stdout.trim().split('\n').filter(Boolean).sort()) result[path.slice(2)] = await sha256File(join(out, path))
  return result
}

/** Clicks "Download all" and saves the zip; returns its path. */
async function downloadAll(page: Page): Promise<string> {
  const [dl] = await Promise.all([
    page.waitForEvent('download', { timeout: 120_000 }),
    page.getByRole('button', { name: 'Download all' }).click(),
  ])
  expect(dl.suggestedFilename()).toMatch(/\.zip$/)
  const saved = join(files.dir, `all-${Date.now()}.zip`)
  await dl.saveAs(saved)
  return saved
}

/** A real 240×160 PNG (solid colour), built here: zlib and CRC-32 from Node. */
function png(): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data])
    const out = Buffer.alloc(8 + data.length + 4)
    out.writeUInt32BE(data.length, 0)
    body.copy(out, 4)
    out.writeUInt32BE(crc32(body), 8 + data.length)
    return out
  }
  const [w, h] = [240, 160]
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(w, 0)
  ihdr.writeUInt32BE(h, 4)
  ihdr.set([8, 2, 0, 0, 0], 8)
  const rows = Buffer.concat(
    Array.from({ length: h }, () => Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: w }, () => [30, 120, 220]).flat())])),
  )
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ])
}

/** A one-page PDF with a line of text, written by hand (pdf.js renders it onto a canvas). */
function pdf(): Buffer {
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    null,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ]
  const stream = '0 0 1 rg 20 20 120 40 re f BT /F1 24 Tf 40 100 Td (Boarding pass) Tj ET'
  objects[3] = `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`
  let body = '%PDF-1.4\n'
  const offsets: number[] = []
  objects.forEach((o, i) => {
    offsets.push(body.length)
    body += `${i + 1} 0 obj\n${o}\nendobj\n`
  })
  const xref = body.length
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`
  return Buffer.from(body, 'latin1')
}

/** pdf.js drew the PDF's page: the canvas has the page's proportions (300×200) and ink on it. */
async function pdfDrawn(page: Page): Promise<void> {
  const canvas = page.getByTestId('preview-pdf')
  await expect
    .poll(() =>
      canvas.evaluate((c: HTMLCanvasElement) => {
        if (c.width === 0) return false
        const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data
        let ink = 0
        for (let i = 0; i < px.length; i += 4) if (px[i]! < 128) ink++
        return Math.abs(c.width / c.height - 1.5) < 0.02 && ink > 50
      }),
    )
    .toBe(true)
}

/** A short real WebM video, recorded by Chromium itself from a canvas (MediaRecorder). */
async function webm(page: Page): Promise<Buffer> {
  const bytes = await page.evaluate(async () => {
    const canvas = document.createElement('canvas')
    canvas.width = 64
    canvas.height = 48
    const ctx = canvas.getContext('2d')!
    const stream = canvas.captureStream(30)
    const recorder = new MediaRecorder(stream, { mimeType: 'video/webm' })
    const chunks: Blob[] = []
    recorder.ondataavailable = (e) => chunks.push(e.data)
    const stopped = new Promise((r) => (recorder.onstop = r))
    recorder.start()
    let frame = 0
    await new Promise<void>((resolve) => {
      const draw = () => {
        ctx.fillStyle = frame % 2 ? '#e11d48' : '#2563eb'
        ctx.fillRect(0, 0, 64, 48)
        if (++frame >= 12) return resolve()
        requestAnimationFrame(draw)
      }
      draw()
    })
    recorder.stop()
    await stopped
    return Array.from(new Uint8Array(await new Blob(chunks).arrayBuffer()))
  })
  return Buffer.from(bytes)
}

describe('folders, Download all, previews, notes and texts in the browser', () => {
  it('a picked folder of three files (one 150 MB) in nested directories arrives with the same tree, and "Download all" gives a zip unzip opens with identical entries', async () => {
    const root = join(files.dir, 'trip')
    mkdirSync(join(root, 'day 1', 'evening'), { recursive: true })
    // The issue's size: the zip is streamed from the store, never held whole (by the server or the page).
    const big = randomFile(root, 'video.bin', 150_000_000)
    const photo = randomFile(join(root, 'day 1'), 'photo.jpg', 300_000)
    const notes = randomFile(join(root, 'day 1', 'evening'), 'notes.txt', 2000)
    const expected = {
      'trip/video.bin': await sha256File(big),
      'trip/day 1/photo.jpg': await sha256File(photo),
      'trip/day 1/evening/notes.txt': await sha256File(notes),
    }

    const { page: sender } = await newPage()
    await sender.goto(`${app.url}/`)
    await sender.getByTestId('folder-input').setInputFiles(root)
    await sender.getByRole('heading', { name: 'Create a link' }).waitFor()
    await sender
      .getByLabel('Note to recipients (optional)')
      .fill('Hello <script>window.__noteRan = 1</script> **all** of [the site](https://example.com) and [this](javascript:alert(1))')
    await submitUpload(sender)
    const link = await waitForResult(sender)
    // "Download all" of the cloud copy (one zip): the sender has left the link's page.
    await leaveResult(sender)

    const { page, dialogs } = await newPage()
    await page.goto(link)
    await page.getByRole('button', { name: 'Download all' }).waitFor()
    // The tree as it was picked: folders, and each file in its own.
    expect(await page.getByTestId('tree-folder').evaluateAll((els) => els.map((e) => e.getAttribute('data-folder')))).toEqual([
      'trip',
      'day 1',
      'evening',
    ])
    expect(await page.getByRole('list', { name: 'Folder evening' }).getByTestId('file-name').allTextContents()).toEqual(['notes.txt'])
    // The note: its HTML shows as text and never runs; links only to http(s), without opener or referrer.
    const note = page.getByTestId('share-note')
    await expect.poll(() => note.textContent()).toContain('<script>window.__noteRan = 1</script>')
    expect(await note.locator('script').count()).toBe(0)
    expect(await note.locator('strong').textContent()).toBe('all')
    const links = await note.locator('a').evaluateAll((as) => as.map((a) => ({ href: a.getAttribute('href'), rel: a.getAttribute('rel') })))
    expect(links).toEqual([{ href: 'https://example.com', rel: 'noopener noreferrer nofollow' }])
    expect(await page.evaluate(() => (window as unknown as { __noteRan?: number }).__noteRan)).toBeUndefined()

    expect(await unzipped(await downloadAll(page))).toEqual(expected)
    expect(dialogs).toEqual([])
  })

  it('a folder dropped on the page (Chromium drag data with a directory) keeps its tree', async () => {
    const root = join(files.dir, 'dropped')
    mkdirSync(join(root, 'a', 'b'), { recursive: true })
    randomFile(root, 'top.txt', 100)
    randomFile(join(root, 'a'), 'mid.txt', 200)
    randomFile(join(root, 'a', 'b'), 'deep.txt', 300)
    const { page } = await newPage()
    await page.goto(`${app.url}/`)
    await page.getByRole('heading', { name: 'Share files, your way' }).waitFor()
    // A real drop, as the OS would deliver it: Chromium's drag data with a path (CDP Input.dispatchDragEvent).
    const cdp = await page.context().newCDPSession(page)
    const data = { items: [], files: [root], dragOperationsMask: 1 }
    for (const type of ['dragEnter', 'dragOver', 'drop'] as const) await cdp.send('Input.dispatchDragEvent', { type, x: 200, y: 200, data })
    await page.getByRole('heading', { name: 'Create a link' }).waitFor()
    // The dropped folder is walked asynchronously: its files are listed as they are found.
    const listed = async () => (await page.getByRole('list', { name: 'Selected files' }).locator('li p.truncate').allTextContents()).sort()
    await expect.poll(listed).toEqual(['dropped/a/b/deep.txt', 'dropped/a/mid.txt', 'dropped/top.txt'])
    await submitUpload(page)
    const link = await waitForResult(page)
    const id = link.split('/s/')[1]!
    const meta = await api<{ files: { name: string; path?: string }[] }>(`/api/shares/${id}`)
    expect(meta.body.files.map((f) => `${f.path}/${f.name}`).sort()).toEqual([
      'dropped/a/b/deep.txt',
      'dropped/a/mid.txt',
      'dropped/top.txt',
    ])
  })

  it('an end-to-end encrypted folder: "Download all" is zipped in the browser while decrypting, and unzip opens it with the same tree', async () => {
    const root = join(files.dir, 'sealed')
    mkdirSync(join(root, 'inner'), { recursive: true })
    const one = randomFile(root, 'one.bin', 6 * MiB)
    const two = randomFile(join(root, 'inner'), 'two.txt', 5000)
    const { page: sender } = await newPage()
    await sender.goto(`${app.url}/`)
    await sender.getByTestId('folder-input').setInputFiles(root)
    await sender.getByRole('heading', { name: 'Create a link' }).waitFor()
    await sender.getByLabel('End-to-end encryption').check()
    await sender.getByLabel('Note to recipients (optional)').fill('sealed **note**')
    await submitUpload(sender)
    await sender.waitForURL(/\/links\//, { timeout: 120_000 })
    const link = await sender.getByTestId('share-url').inputValue()
    expect(link).toMatch(/\/s\/[A-Za-z0-9_-]{22,}#[A-Za-z0-9_-]{22}$/)
    // The zip made in the recipient's browser is of the cloud copy: stored, and the sender gone.
    await sender.locator('[data-testid=cloud-copy][data-state=done]').waitFor({ timeout: 120_000 })
    await leaveResult(sender)

    const { page } = await newPage()
    await page.goto(link)
    await expect.poll(() => page.getByTestId('share-note').textContent()).toBe('sealed note')
    expect(await unzipped(await downloadAll(page))).toEqual({
      'sealed/one.bin': await sha256File(one),
      'sealed/inner/two.txt': await sha256File(two),
    })
  })

  it('a one-time share: "Download all" works once, then the link is gone', async () => {
    const share = await uploadShare(
      api,
      [
        { name: 'a.txt', bytes: Buffer.from('first') },
        { name: 'b.txt', bytes: Buffer.from('second') },
        { name: 'c.bin', bytes: readFileSync(randomFile(files.dir, 'c.bin', 3 * MiB)) },
      ],
      { maxDownloads: 1 },
    )
    const { page } = await newPage()
    await page.goto(`${app.url}/s/${share.id}`)
    expect(Object.keys(await unzipped(await downloadAll(page)))).toEqual(['a.txt', 'b.txt', 'c.bin'])
    await page.reload()
    await page.getByRole('heading', { name: 'This link has expired or does not exist' }).waitFor()
    expect((await api(`/api/shares/${share.id}`)).status).toBe(404)
  })

  it('previews of an image, a video, a PDF and code render on the share page; HTML and SVG are never rendered nor run', async () => {
    const { page: recorder } = await newPage()
    await recorder.goto(`${app.url}/`)
    const video = await webm(recorder)
    const share = await uploadShare(api, [
      { name: 'photo.png', bytes: png(), type: 'image/png' },
      { name: 'clip.webm', bytes: video, type: 'video/webm' },
      { name: 'boarding pass.pdf', bytes: pdf(), type: 'application/pdf' },
      {
        name: 'hello.ts',
        bytes: Buffer.from('export function hello(name: string): string {\n  return `hi ${name}`\n}\n'),
        type: 'text/plain',
      },
      { name: 'evil.html', bytes: Buffer.from('<script>alert("html ran"); window.parent.__pwned = 1</script>'), type: 'text/html' },
      {
        name: 'evil.svg',
        bytes: Buffer.from(
          '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(\'svg ran\')"><script>alert("svg script")</script></svg>',
        ),
        type: 'image/svg+xml',
      },
    ])
    const before = await api<{ files: { downloadsLeft: number | null }[] }>(`/api/shares/${share.id}`)
    const { page, dialogs } = await newPage()
    await page.goto(`${app.url}/s/${share.id}`)
    for (const name of ['photo.png', 'clip.webm', 'boarding pass.pdf', 'hello.ts'])
      await page.getByRole('button', { name: `Preview ${name}` }).click()
    // Nothing offers a preview of HTML or SVG.
    for (const name of ['evil.html', 'evil.svg']) expect(await page.getByRole('button', { name: `Preview ${name}` }).count()).toBe(0)

    const image = page.getByRole('img', { name: 'Preview of photo.png' })
    await expect.poll(() => image.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(240)
    const clip = page.locator('video[aria-label="Preview of clip.webm"]')
    await expect.poll(() => clip.evaluate((v: HTMLVideoElement) => v.readyState >= 1 && v.videoWidth)).toBe(64)
    await pdfDrawn(page)
    const code = page.getByTestId('preview-text')
    await expect.poll(() => code.getAttribute('data-language')).toBe('typescript')
    expect(await code.textContent()).toContain('export function hello(name: string)')
    expect(await code.locator('.hljs-keyword').first().textContent()).toBe('export')

    // Previews never counted: every file has the downloads it had.
    expect((await api(`/api/shares/${share.id}`)).body).toEqual(before.body)

    await screenshot(page, 'share-previews-laptop')
    const { page: phone } = await newPage({ viewport: VIEWPORTS.phone, isMobile: true, hasTouch: true })
    await phone.goto(`${app.url}/s/${share.id}`)
    for (const name of ['photo.png', 'boarding pass.pdf', 'hello.ts']) await phone.getByRole('button', { name: `Preview ${name}` }).click()
    await pdfDrawn(phone)
    await phone.getByTestId('preview-text').waitFor()
    await screenshot(phone, 'share-previews-phone')

    // Downloading the HTML and the SVG saves them: the browser never renders them on our origin.
    for (const name of ['evil.html', 'evil.svg']) {
      const [dl] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: `Download ${name}` }).click()])
      expect(dl.suggestedFilename()).toBe(name)
    }
    expect(dialogs).toEqual([])
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined()
  })

  it('a preview on a share with a download limit reads only the start of a large text file and leaves its count alone', async () => {
    const log = Buffer.from(Array.from({ length: 60_000 }, (_, i) => `line ${i}: all quiet\n`).join(''))
    expect(log.length).toBeGreaterThan(MiB)
    const share = await uploadShare(
      api,
      [
        { name: 'server.log', bytes: log },
        { name: 'photo.png', bytes: png(), type: 'image/png' },
      ],
      { maxDownloads: 2 },
    )
    const { page } = await newPage()
    await page.goto(`${app.url}/s/${share.id}`)
    await page.getByRole('button', { name: 'Preview server.log' }).click()
    await expect.poll(() => page.getByTestId('preview-text').textContent()).toContain('line 0: all quiet')
    expect(await page.getByTestId('preview').textContent()).toMatch(/The first 262 kB of 1\.[0-9] MB/)
    // A whole image would be a free download there: not offered.
    expect(await page.getByRole('button', { name: 'Preview photo.png' }).count()).toBe(0)
    expect((await api<{ downloadsLeft: number }>(`/api/shares/${share.id}`)).body.downloadsLeft).toBe(2)
  })

  it('a one-time text made on the text page shows once with a copy button, then the link is gone', async () => {
    const { page: sender } = await newPage()
    await sender.goto(`${app.url}/`)
    await sender.getByRole('link', { name: 'share a text' }).click()
    await sender.getByLabel('Text', { exact: true }).fill('wifi password: correct horse battery staple')
    await sender.getByRole('button', { name: 'Create text link' }).click()
    const link = await waitForResult(sender)

    const { page } = await newPage()
    await page.goto(link)
    await page.getByRole('button', { name: 'Show the text' }).click()
    await expect.poll(() => page.getByTestId('shared-text').textContent()).toBe('wifi password: correct horse battery staple')
    await page.getByRole('button', { name: 'Copy text' }).waitFor()
    await page.reload()
    await page.getByRole('heading', { name: 'This link has expired or does not exist' }).waitFor()
    const id = link.split('/s/')[1]!
    expect((await api(`/api/shares/${id}/text`, { body: {} })).status).toBe(404)
  })
})

describe('an admin policy in the browser', () => {
  let strict: AppProcess
  let oauth: LocalOAuth
  beforeAll(async () => {
    oauth = await startOAuthServer()
    strict = await startApp({
      ...oauth.env,
      ADMIN_EMAILS: 'root@example.com',
      ANON_PASSWORD_REQUIRED: 'true',
      UPLOAD_RATE_LIMIT: '1000/1h',
      SHARE_CREATE_RATE_LIMIT: '1000/1h',
    })
  })
  afterAll(async () => {
    await strict?.stop()
    await oauth?.stop()
  })

  it('"password required for anonymous" asks for a password on the upload page and makes the link only with one', async () => {
    const path = randomFile(files.dir, 'policy.txt', 1000)
    const { page } = await newPage()
    await page.goto(`${strict.url}/`)
    await page.getByTestId('file-input').setInputFiles([path])
    await page.getByRole('heading', { name: 'Create a link' }).waitFor()
    const submit = page.getByRole('button', { name: 'Upload and create link' })
    await expect.poll(() => page.getByText('This server requires a password on links like yours.').count()).toBe(1)
    expect(await submit.isDisabled()).toBe(true)
    await page.getByLabel('Password (required)').fill('hunter2')
    expect(await submit.isDisabled()).toBe(false)
    await submit.click()
    const link = await waitForResult(page)
    const id = link.split('/s/')[1]!
    expect((await apiOf(strict.url)<{ passwordRequired: boolean }>(`/api/shares/${id}`)).body.passwordRequired).toBe(true)
  })

  it("the admin's share rules for anonymous links: the upload options offer only the allowed expiry and download presets, and say why", async () => {
    oauth.setUser({ sub: 'e2e-root', email: 'root@example.com', name: 'Root', email_verified: true })
    const jar = new CookieJar()
    expect((await signInFlow(strict.url, jar)).response.status).toBe(302)
    const root = apiOf(strict.url, ((url: string, init: RequestInit = {}) =>
      browserFetch(jar, url, { ...init, headers: { ...(init.headers as Record<string, string>), origin: strict.url } })) as typeof fetch)
    type Rules = Record<string, unknown>
    const { settings } = (await root<{ settings: { shareRules: Record<'anonymous' | 'user' | 'admin', Rules> } }>('/api/admin/settings'))
      .body
    const anonymous = {
      ...settings.shareRules.anonymous,
      expiryPresets: [3600, 86_400],
      downloadPresets: [1, 5],
      unlimitedDownloads: false,
    }
    expect(
      (await root('/api/admin/settings', { method: 'PUT', body: { ...settings, shareRules: { ...settings.shareRules, anonymous } } }))
        .status,
    ).toBe(200)

    const { page } = await newPage()
    await page.goto(`${strict.url}/`)
    await page.getByTestId('file-input').setInputFiles([randomFile(files.dir, 'presets.txt', 100)])
    await page.getByTestId('presets-policy').waitFor()
    expect(await page.getByTestId('presets-policy').textContent()).toBe('This server allows only these choices for your links.')
    const values = (name: string) =>
      page.locator(`select[name=${name}] option`).evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value))
    expect(await values('expiresIn')).toEqual(['3600', '86400'])
    expect(await values('maxDownloads')).toEqual(['1', '5'])
    await page.getByLabel('Password (required)').fill('hunter2')
    // What the page asks the server for: allowed presets only (the server would refuse others).
    const created = page.waitForRequest((r) => r.method() === 'POST' && new URL(r.url()).pathname === '/api/shares')
    await page.getByRole('button', { name: 'Upload and create link' }).click()
    expect((await created).postDataJSON()).toMatchObject({ expiresIn: expect.any(Number), maxDownloads: 1 })
    expect([3600, 86_400]).toContain(((await created).postDataJSON() as { expiresIn: number }).expiresIn)
    await waitForResult(page)
  })
})
