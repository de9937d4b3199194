import { pino, type Logger } from 'pino'

/** Fields that may carry secrets, tokens or presigned URLs: never logged. */
export const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-owner-token"]',
  'req.headers["x-share-password"]',
  'res.headers["set-cookie"]',
  'res.headers.location',
  '*.password',
  '*.ownerToken',
]

export function createLogger(level: string): Logger {
  return pino({ level, redact: { paths: REDACT, censor: '[redacted]' }, base: { service: 'sharesync' } })
}
