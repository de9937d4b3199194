/**
 * P2P when no direct connection can be made: a device whose WebRTC may only use relay candidates
 * (iceTransportPolicy 'relay', as behind a strict firewall). Without TURN the bytes go through the
 * app's server relay (and with the relay switched off the page says what to do); with a TURN server
 * (a real coturn on loopback) they go through TURN.
 */
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp, type AppProcess } from './support/app-server'
import { launchBrowser } from './support/browser'
import { randomFile, sha256File, tempDir } from './support/files'
import { MB, RELAY_ONLY, accept, device, enterRoom, savedSha, send, watch, type Device } from './support/p2p'
import { startTurn, type TurnServer } from './support/turn'
import { CONNECT_TIMEOUT_MS } from '../frontend/src/features/p2p/engine/peer-link'

/**
 * Drops the page's one timer of CONNECT_TIMEOUT_MS (the P2P link's connect timeout): a link that
 * fails then did so without waiting for it.
 */
const NO_CONNECT_TIMEOUT = `{
  const native = window.setTimeout
  window.setTimeout = (fn, ms, ...args) => (ms === ${CONNECT_TIMEOUT_MS} ? 0 : native(fn, ms, ...args))
}`

let app: AppProcess
let relayOff: AppProcess
let browser: Browser
let turn: TurnServer
let withTurn: AppProcess
let files: ReturnType<typeof tempDir>
const opened: Device[] = []
beforeAll(async () => {
  files = tempDir()
  turn = await startTurn()
  // One after the other: three first starts at once (each opens a new PGlite) are slow on 2 cores.
  browser = await launchBrowser()
  app = await startApp()
  relayOff = await startApp({ RELAY_ENABLED: 'false' })
  withTurn = await startApp({ TURN_URLS: turn.url, TURN_SECRET: turn.secret })
})

afterAll(async () => {
  await app?.stop()
  await relayOff?.stop()
  await withTurn?.stop()
  await turn?.stop()
  for (const d of opened) await d.context.close().catch(() => undefined)
  await browser?.close()
  files?.remove()
})

describe('P2P without a direct connection', () => {
  it('a relay-only pair with no TURN server goes through the server relay: the page says so and the file arrives byte-identical', async () => {
    const a = await device(browser, 'Alice laptop')
    const b = await device(browser, 'Bob phone', { init: RELAY_ONLY })
    opened.push(a, b)
    await enterRoom(app.url, [a, b], { linked: false })
    for (const d of [a, b]) await d.page.locator('[data-testid=peer][data-link=connected] [data-path=relay]').waitFor({ timeout: 45_000 })
    expect(await a.page.getByTestId('peer-path').textContent()).toContain('through the server relay')
    const path = randomFile(files.dir, 'through-relay.bin', 3 * MB + 9)
    await send(a, path, 'Bob phone')
    await accept(b)
    await expect.poll(() => b.page.getByTestId('transfer-path').getAttribute('data-path')).toBe('relay')
    const [sent, received] = await Promise.all([watch(a, 'send'), watch(b, 'receive')])
    expect([sent.phase, received.phase]).toEqual(['completed', 'completed'])
    expect(await savedSha(b)).toBe(await sha256File(path))
    expect([...a.errors, ...b.errors]).toEqual([])
  })

  it('with the relay switched off by the admin, both sides say at once (no connect timeout) that there is no connection, and what to do', async () => {
    // Neither page's connect timeout can fire (its timer is dropped): the link can only fail because
    // the relay-only side has no candidate (it says so, and the other side hears it).
    const a = await device(browser, 'Alice laptop', { init: NO_CONNECT_TIMEOUT })
    const b = await device(browser, 'Bob phone', { init: `${RELAY_ONLY}\n${NO_CONNECT_TIMEOUT}` })
    opened.push(a, b)
    await enterRoom(relayOff.url, [a, b], { linked: false })
    for (const d of [a, b]) {
      await d.page.locator('[data-testid=peer][data-link=failed]').waitFor({ timeout: 45_000 })
      await expect.poll(async () => (await d.page.getByRole('alert').allTextContents()).join(' ')).toContain('relay is switched off')
      const alert = (await d.page.getByRole('alert').allTextContents()).join(' ')
      expect(alert).toContain('same network')
      expect(alert).toContain('TURN')
    }
    // Nothing can be sent to a device without a connection.
    expect(await a.page.getByTestId('recipient').locator('option').allTextContents()).toEqual(['Everyone (0)'])
    expect([...a.errors, ...b.errors]).toEqual([])
  })

  it('with a TURN server (time-limited credentials from the app), two relay-only devices connect through it and the file arrives byte-identical', async () => {
    const a = await device(browser, 'Alice laptop', { init: RELAY_ONLY })
    const b = await device(browser, 'Bob phone', { init: RELAY_ONLY })
    opened.push(a, b)
    await enterRoom(withTurn.url, [a, b])
    for (const d of [a, b]) expect(await d.page.getByTestId('peer-path').getAttribute('data-path')).toBe('turn')
    const path = randomFile(files.dir, 'through-turn.bin', 2 * MB + 3)
    await send(a, path, 'Bob phone')
    await accept(b)
    const [sent, received] = await Promise.all([watch(a, 'send'), watch(b, 'receive')])
    expect([sent.phase, received.phase]).toEqual(['completed', 'completed'])
    expect(await savedSha(b)).toBe(await sha256File(path))
    expect([...a.errors, ...b.errors]).toEqual([])
  })
})
