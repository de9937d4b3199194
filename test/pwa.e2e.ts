/**
 * The web app as an installable PWA (manifest, service worker, app shell offline, Web Share Target),
 * and the same app on a plain-http LAN address where none of the secure-context APIs exist.
 */
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp, type AppProcess } from './support/app-server'
import { launchBrowser } from './support/browser'
import { createLink } from './support/cloud-ui'
import { randomFile, sha256File, tempDir } from './support/files'

const LAN_HOST = 'sharesync.lan'

let app: AppProcess
let browser: Browser
let files: ReturnType<typeof tempDir>

beforeAll(async () => {
  files = tempDir()
  // The resolver rule lets the browser reach the app under a name that is not localhost: a
  // non-secure origin, exactly like http://192.168.1.20:8080 on a home network.
  ;[app, browser] = await Promise.all([
    startApp({ UPLOAD_RATE_LIMIT: '1000/1h', SHARE_CREATE_RATE_LIMIT: '1000/1h' }),
    launchBrowser([`--host-resolver-rules=MAP ${LAN_HOST} 127.0.0.1`]),
  ])
})

afterAll(async () => {
  await browser?.close()
  await app?.stop()
  files?.remove()
})

interface Manifest {
  name: string
  start_url: string
  display: string
  icons: { src: string; sizes: string; type: string; purpose?: string }[]
  share_target: { action: string; method: string; enctype: string; params: { files: { name: string; accept: string[] }[] } }
}

describe('installable web app', () => {
  it('serves a manifest with icons and a share target, linked from the page', async () => {
    const html = await (await fetch(`${app.url}/`)).text()
    expect(html).toContain('rel="manifest" href="/manifest.webmanifest"')
    const manifest = (await (await fetch(`${app.url}/manifest.webmanifest`)).json()) as Manifest
    expect(manifest).toMatchObject({ name: 'ShareSync', start_url: '/', display: 'standalone' })
    const sizes = manifest.icons.map((i) => i.sizes)
    expect(sizes).toEqual(expect.arrayContaining(['192x192', '512x512']))
    for (const icon of manifest.icons) {
      const res = await fetch(`${app.url}${icon.src}`)
      expect(res.status, icon.src).toBe(200)
      expect(res.headers.get('content-type')).toBe('image/png')
    }
    expect(manifest.share_target).toMatchObject({ action: '/share-target', method: 'POST', enctype: 'multipart/form-data' })
    expect(manifest.share_target.params.files[0]?.name).toBe('files')
  })

  it('the service worker keeps the app shell working offline', async () => {
    const context = await browser.newContext()
    try {
      const page = await context.newPage()
      await page.goto(`${app.url}/`)
      await page.evaluate(async () => {
        await navigator.serviceWorker.ready
      })
      // Second load: now controlled by the worker, which caches the scripts and styles it serves.
      await page.reload()
      await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true)
      await page.getByRole('heading', { name: 'Share files, your way' }).waitFor()

      await context.setOffline(true)
      await page.reload()
      await page.getByRole('heading', { name: 'Share files, your way' }).waitFor()
      await context.setOffline(false)
    } finally {
      await context.close()
    }
  })

  it('files shared to ShareSync from another app open the upload page with them', async () => {
    const context = await browser.newContext()
    try {
      const page = await context.newPage()
      await page.goto(`${app.url}/`)
      await page.evaluate(async () => {
        await navigator.serviceWorker.ready
      })
      await page.reload()
      await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true)

      // What the phone's share sheet does: a multipart POST navigation to the share_target action.
      await page.evaluate(() => {
        const form = document.createElement('form')
        form.method = 'POST'
        form.action = '/share-target'
        form.enctype = 'multipart/form-data'
        form.id = 'share-sheet'
        const input = document.createElement('input')
        input.type = 'file'
        input.name = 'files'
        input.multiple = true
        form.appendChild(input)
        document.body.appendChild(form)
      })
      const a = randomFile(files.dir, 'from-gallery.jpg', 70_000)
      const b = randomFile(files.dir, 'voice memo.m4a', 1234)
      await page.locator('#share-sheet input').setInputFiles([a, b])
      await page.evaluate(() => (document.getElementById('share-sheet') as HTMLFormElement).submit())

      await page.getByRole('heading', { name: 'Create a link' }).waitFor()
      const selected = page.getByRole('list', { name: 'Selected files' })
      await expect.poll(() => selected.getByRole('listitem').count()).toBe(2)
      expect(await selected.textContent()).toContain('from-gallery.jpg')
      expect(await selected.textContent()).toContain('voice memo.m4a')
      expect(new URL(page.url()).search).toBe('')
    } finally {
      await context.close()
    }
  })
})

describe('on a plain-http LAN address', () => {
  it('works without a service worker, crypto.subtle or the async clipboard: upload, copy, download', async () => {
    const lanUrl = `http://${LAN_HOST}:${app.port}`
    const sender = await browser.newContext()
    const recipient = await browser.newContext({ acceptDownloads: true })
    try {
      const page = await sender.newPage()
      const errors: string[] = []
      page.on('pageerror', (e) => errors.push(e.message))
      await page.goto(`${lanUrl}/`)
      const env = await page.evaluate(() => ({
        secure: window.isSecureContext,
        subtle: typeof crypto.subtle,
        sw: 'serviceWorker' in navigator,
      }))
      expect(env).toEqual({ secure: false, subtle: 'undefined', sw: false })

      const path = randomFile(files.dir, 'lan-file.bin', 6 * 1024 * 1024 + 99)
      const link = await createLink(page, lanUrl, [path])
      expect(link.startsWith(`${lanUrl}/s/`)).toBe(true)
      await page.getByRole('button', { name: 'Copy link' }).click()
      await page.getByRole('button', { name: 'Copied!' }).waitFor()

      const rp = await recipient.newPage()
      await rp.goto(link)
      const [download] = await Promise.all([rp.waitForEvent('download'), rp.getByRole('button', { name: 'Download lan-file.bin' }).click()])
      const saved = join(files.dir, 'lan-downloaded.bin')
      await download.saveAs(saved)
      expect(await sha256File(saved)).toBe(await sha256File(path))
      expect(errors).toEqual([])
    } finally {
      await sender.close()
      await recipient.close()
    }
  })
})
