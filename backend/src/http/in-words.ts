/** Sizes and waits in the server's messages, read the way the web app shows them (decimal units). */

const UNITS = ['bytes', 'KB', 'MB', 'GB', 'TB']

/** 5_000_000_000 -> "5 GB", 1536 -> "1.5 KB". */
export function sizeInWords(bytes: number): string {
  if (bytes < 1000) return `${bytes} bytes`
  let value = bytes
  let unit = 0
  while (value >= 999.5 && unit < UNITS.length - 1) {
    value /= 1000
    unit++
  }
  return `${Number(value >= 99.95 ? value.toFixed(0) : value.toFixed(1))} ${UNITS[unit]}`
}

/** 2747 -> "46 minutes", 20 -> "20 seconds" (rounded up). */
export function waitInWords(seconds: number): string {
  const s = Math.max(1, Math.ceil(seconds))
  const [n, unit] = s < 60 ? [s, 'second'] : s < 3600 ? [Math.ceil(s / 60), 'minute'] : s < 86_400 ? [Math.ceil(s / 3600), 'hour'] : [Math.ceil(s / 86_400), 'day']
  return `${n} ${unit}${n === 1 ? '' : 's'}`
}
