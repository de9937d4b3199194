import { describe, expect, it } from 'vitest'
import { deviceName, MAX_USER_AGENT_LENGTH } from './device-name'

describe('device names people can tell apart', () => {
  it.each([
    ['Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36', 'Pixel 8 · Chrome'],
    ['Mozilla/5.0 (Linux; Android 13; SM-S911B Build/TP1A.220624.014) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36', 'SM-S911B · Samsung Internet'],
    ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1', 'iPhone · Safari'],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15', 'Mac · Safari'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0', 'Windows PC · Edge'],
    ['Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0', 'Linux PC · Firefox'],
    ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36', 'Linux PC · Chrome'],
    ['Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1', 'iPad · Safari'],
    ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1', 'iPhone · Chrome'],
    ['Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36', 'Chromebook · Chrome'],
    ['Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36', 'Android · Chrome'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 OPR/111.0.0.0', 'Windows PC · Opera'],
  ])('%s -> %s', (ua, expected) => {
    expect(deviceName(ua)).toBe(expected)
  })

  it('falls back to generic words for an unknown or missing User-Agent', () => {
    expect(deviceName(undefined)).toBe('Device · Browser')
    expect(deviceName('node')).toBe('Script · Browser')
  })

  it('reads only the start of a huge User-Agent: what comes after the bound cannot change the name', () => {
    const pixel = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36'
    const padded = pixel + ' '.repeat(MAX_USER_AGENT_LENGTH) + ' Firefox/128.0 (iPhone)'
    expect(deviceName(padded)).toBe('Pixel 8 · Chrome')
  })

  it.each([
    ['the Android regex attack of the first release', 'Android;' + ' '.repeat(16_000) + 'x'],
    ['nested parentheses', '('.repeat(16_000)],
    ['repeated Android segments', 'Android 1;'.repeat(1600)],
    ['a version that never ends', 'Chrome/' + '1.'.repeat(8000)],
    ['an unterminated model', 'Mozilla/5.0 (Linux; Android 14; ' + 'x '.repeat(8000)],
    ['control characters and unicode', '\u0000\u202e\ud83d\ude00'.repeat(4000)],
  ])('a hostile User-Agent (%s) still gets a plain name', (_what, ua) => {
    const name = deviceName(ua)
    expect(name).toMatch(/^[^·]{1,40} · [A-Za-z ]+$/)
  })
})
