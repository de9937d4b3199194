import type { Request } from 'express'
import type { ByteRange } from '../storage/blob-store'

/**
 * The one byte range a request asks for (RFC 9110 §14.2), once the size is known: null for the whole
 * file (no Range header, a malformed one, several ranges, or an empty file — a server may ignore
 * Range), 'unsatisfiable' when it starts past the end (416). Suffix ranges (`bytes=-500`) count from
 * the end; an end past the file is clamped to its last byte.
 */
export function requestedRange(req: Request, size: number): ByteRange | null | 'unsatisfiable' {
  if (req.get('range') === undefined || size === 0) return null
  const ranges = req.range(size, { combine: true })
  if (ranges === -1) return 'unsatisfiable'
  if (ranges === undefined || ranges === -2 || ranges.type !== 'bytes' || ranges.length !== 1) return null
  const [range] = ranges
  return range ? { start: range.start, end: range.end } : null
}
