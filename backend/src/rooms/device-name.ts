import { UAParser } from 'ua-parser-js'

/**
 * The User-Agent is read up to this many characters: a handshake can carry ~16 KB of it, and nothing
 * that tells devices apart comes that late. ua-parser-js trims to 500 itself; this keeps the bound
 * here, whatever the library does next.
 */
export const MAX_USER_AGENT_LENGTH = 512

/**
 * "Pixel 8 · Chrome", "iPhone · Safari", "Mac · Firefox": enough for people in a room to tell their
 * devices apart. Parsed by ua-parser-js on a bounded string; unknown parts fall back to generic words.
 */
export function deviceName(userAgent: string | undefined): string {
  const ua = (userAgent ?? '').slice(0, MAX_USER_AGENT_LENGTH)
  const { browser, os, device } = new UAParser(ua).getResult()
  return `${deviceOf(ua, os.name, device.model)} · ${browserOf(browser.name)}`
}

/** Who is downloading, for delivery receipts and the download history: the device, or "someone" without a User-Agent. */
export function recipientName(userAgent: string | null | undefined): string {
  return userAgent ? deviceName(userAgent) : 'someone'
}

function deviceOf(ua: string, os: string | undefined, model: string | undefined): string {
  if (model === 'iPhone' || model === 'iPad') return model
  if (os === 'Android') {
    // Chrome's reduced User-Agent says "K" instead of the model; WebViews say "wv".
    return model && model !== 'K' && model !== 'wv' ? model.slice(0, 40) : 'Android'
  }
  if (os === 'Chromium OS' || os === 'Chrome OS') return 'Chromebook'
  if (os === 'Mac OS' || os === 'macOS') return 'Mac'
  if (os === 'Windows') return 'Windows PC'
  if (ua.includes('Linux') || ua.includes('X11')) return 'Linux PC'
  const lower = ua.toLowerCase()
  if (['node', 'undici', 'axios', 'curl'].some((tool) => lower.includes(tool))) return 'Script'
  return 'Device'
}

function browserOf(name: string | undefined): string {
  if (!name) return 'Browser'
  if (name.startsWith('Edge')) return 'Edge'
  if (name.startsWith('Opera')) return 'Opera'
  if (name === 'Samsung Internet') return 'Samsung Internet'
  if (name.includes('Firefox')) return 'Firefox'
  if (name.includes('Chrom')) return 'Chrome'
  if (name.includes('Safari')) return 'Safari'
  return 'Browser'
}
