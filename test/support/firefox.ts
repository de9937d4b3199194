/**
 * Firefox ESR from the distribution, driven with puppeteer-core over WebDriver BiDi (nothing is
 * downloaded). The prefs let Firefox's WebRTC use plain host candidates on loopback, so that it can
 * connect to a Chromium on the same machine.
 */
import { existsSync } from 'node:fs'
import puppeteer, { type Browser } from 'puppeteer-core'

export const FIREFOX_PATH = ['/usr/bin/firefox-esr', '/usr/bin/firefox'].find((p) => existsSync(p)) ?? '/usr/bin/firefox-esr'

/**
 * `network: false` leaves WebDriver BiDi's network events off: with them on, Firefox keeps every
 * request body it sends for the driver (a memory figure taken with them on measures the driver).
 */
export function launchFirefox(o: { network?: boolean } = {}): Promise<Browser> {
  return puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX_PATH,
    headless: true,
    networkEnabled: o.network ?? true,
    extraPrefsFirefox: {
      'media.peerconnection.ice.obfuscate_host_addresses': false,
      'media.peerconnection.ice.loopback': true,
      // No first-run pages, no background traffic.
      'browser.shell.checkDefaultBrowser': false,
      'datareporting.policy.dataSubmissionEnabled': false,
    },
  })
}
