/**
 * "Pixel 8 · Chrome", "iPhone · Safari", "Mac · Firefox": enough for people in a room to tell their
 * devices apart. A tiny User-Agent reading, not a full parser: unknown parts fall back to generic words.
 */
export function deviceName(userAgent: string | undefined): string {
  const ua = userAgent ?? ''
  return `${deviceOf(ua)} · ${browserOf(ua)}`
}

function deviceOf(ua: string): string {
  if (/iPhone/.test(ua)) return 'iPhone'
  if (/iPad/.test(ua)) return 'iPad'
  if (/Android/.test(ua)) {
    // "Linux; Android 14; Pixel 8 Build/…)" or "Android 14; Pixel 8)": the model follows the version.
    const model = /Android[^;)]*;\s*(?:[a-z]{2}[-_][A-Za-z]{2};\s*)?([^;)]+?)(?:\s+Build\/[^;)]*)?\)/.exec(ua)?.[1]?.trim()
    return model && model !== 'K' && !/^wv$/.test(model) ? model.slice(0, 40) : 'Android'
  }
  if (/CrOS/.test(ua)) return 'Chromebook'
  if (/Macintosh|Mac OS X/.test(ua)) return 'Mac'
  if (/Windows/.test(ua)) return 'Windows PC'
  if (/Linux/.test(ua)) return 'Linux PC'
  if (/node|undici|axios|curl/i.test(ua)) return 'Script'
  return 'Device'
}

function browserOf(ua: string): string {
  if (/Edg(e|A|iOS)?\//.test(ua)) return 'Edge'
  if (/OPR\/|Opera/.test(ua)) return 'Opera'
  if (/SamsungBrowser\//.test(ua)) return 'Samsung Internet'
  if (/Firefox\/|FxiOS\//.test(ua)) return 'Firefox'
  if (/HeadlessChrome\//.test(ua)) return 'Chrome'
  if (/Chrome\/|CriOS\/|Chromium\//.test(ua)) return 'Chrome'
  if (/Safari\//.test(ua)) return 'Safari'
  return 'Browser'
}
