/**
 * Rooms that keep files, end to end: the built app in real headless Chromium, three browser
 * contexts. A file left in a room is downloaded by a device that joined after it was left and after
 * the device that left it had gone, byte-identical. Small files; no WebRTC link is needed.
 */
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp, type AppProcess } from './support/app-server'
import { launchBrowser } from './support/browser'
import { randomFile, sha256File, tempDir } from './support/files'
import { device, enterRoom, type Device } from './support/p2p'

let app: AppProcess
let browser: Browser
let files: ReturnType<typeof tempDir>
const opened: Device[] = []

beforeAll(async () => {
  files = tempDir()
  ;[app, browser] = await Promise.all([startApp(), launchBrowser()])
})

afterAll(async () => {
  await app?.stop()
  for (const d of opened) await d.context.close().catch(() => undefined)
  await browser?.close()
  files?.remove()
})

describe('files left in a room', () => {
  it('a device that joins after the file was left and after its sender left downloads it byte-identical; only the sender may remove it', async () => {
    const [teacher, early] = await Promise.all([device(browser, 'Teacher laptop'), device(browser, 'Early student')])
    opened.push(teacher!, early!)
    const { link } = await enterRoom(app.url, [teacher!, early!], { linked: false })
    const path = randomFile(files.dir, 'worksheet.pdf', 300_000)

    await teacher!.page.getByTestId('room-leave-input').setInputFiles(path)
    const left = teacher!.page.getByTestId('room-file')
    await expect.poll(() => left.textContent()).toContain('worksheet.pdf')
    await expect.poll(() => left.textContent()).toContain('left by you')
    await expect.poll(() => left.getByRole('button', { name: 'Remove' }).count()).toBe(1)
    // Everyone in the room sees it at once, with who left it; only the one who left it may remove it.
    const seen = early!.page.getByTestId('room-file')
    await expect.poll(() => seen.textContent()).toContain('left by Teacher laptop')
    expect(await seen.getByRole('button', { name: 'Remove' }).count()).toBe(0)

    // The teacher goes; a student arrives afterwards.
    await teacher!.context.close()
    const late = await device(browser, 'Late student')
    opened.push(late)
    await late.page.goto(link)
    const row = late.page.getByTestId('room-file')
    await expect.poll(() => row.textContent()).toContain('worksheet.pdf')
    const [download] = await Promise.all([late.page.waitForEvent('download'), row.getByRole('button', { name: 'Download' }).click()])
    expect(download.suggestedFilename()).toBe('worksheet.pdf')
    const saved = join(files.dir, 'saved')
    await download.saveAs(saved)
    expect(await sha256File(saved)).toBe(await sha256File(path))
    expect(late.errors).toEqual([])

    // The blob is in the app's storage while the room holds it (and nowhere a link reaches).
    const blobs = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? blobs(join(dir, e.name)) : [e.name]))
    expect(blobs(join(app.dataDir, 'blobs')).length).toBeGreaterThan(0)
  })
})
