import { MAX_THUMBNAIL_CHARS } from '@sharesync/protocol'

/** Thumbnails made per offer: the offer dialog names the first five files. */
export const MAX_THUMBNAILS = 5
/** Longest side of a thumbnail, in pixels (shown at 48 CSS px, sharp at 2×). */
const EDGE = 96
/** Pictures bigger than this are not decoded just for a thumbnail. */
const MAX_SOURCE_BYTES = 40 * 1024 * 1024
const RASTER = /^image\/(jpeg|png|webp|gif|avif|bmp)$/

/**
 * A small JPEG data URL of a picked picture, or undefined (not a raster image, too big to decode,
 * undecodable, or a result over the size cap). Made from the decoded pixels: what travels is never
 * the sender's original bytes, and never SVG.
 */
export async function makeThumbnail(file: File): Promise<string | undefined> {
  if (!RASTER.test(file.type) || file.size > MAX_SOURCE_BYTES || typeof createImageBitmap !== 'function') return undefined
  try {
    const probe = await createImageBitmap(file)
    const scale = Math.min(1, EDGE / Math.max(probe.width, probe.height))
    const width = Math.max(1, Math.round(probe.width * scale))
    const height = Math.max(1, Math.round(probe.height * scale))
    const canvas = document.createElement('canvas')
    canvas.width = width
    canvas.height = height
    const ctx = canvas.getContext('2d')
    if (!ctx) return undefined
    ctx.drawImage(probe, 0, 0, width, height)
    probe.close()
    for (const quality of [0.7, 0.5, 0.3]) {
      const url = canvas.toDataURL('image/jpeg', quality)
      if (url.startsWith('data:image/jpeg;base64,') && url.length <= MAX_THUMBNAIL_CHARS) return url
    }
    return undefined
  } catch {
    return undefined
  }
}

/** Thumbnails for the first few pictures of an offer, in file order (undefined where there is none). */
export async function makeThumbnails(files: File[]): Promise<(string | undefined)[]> {
  return Promise.all(files.map((f, i) => (i < MAX_THUMBNAILS ? makeThumbnail(f) : Promise.resolve(undefined))))
}
