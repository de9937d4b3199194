import { Writable } from 'node:stream'
import { pino, type Logger } from 'pino'
import { REDACT } from '../../src/logger'

/** A real pino logger at debug level (the app's redactions) whose every line is kept, parsed, and as raw text. */
export function captureLogs(): { lines: Record<string, unknown>[]; text: () => string; logger: Logger } {
  const lines: Record<string, unknown>[] = []
  const raw: string[] = []
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue
        raw.push(line)
        lines.push(JSON.parse(line) as Record<string, unknown>)
      }
      done()
    },
  })
  return { lines, text: () => raw.join('\n'), logger: pino({ level: 'debug', redact: { paths: REDACT, censor: '[redacted]' } }, sink) }
}
