/**
 * Progress on stderr: one rewritten line with percent, speed and ETA on a terminal; on anything
 * else (a pipe, a CI log) a plain line per step, at most every 10 %. Silent with `quiet`.
 */
export interface Progress {
  add(bytes: number): void
  /** a plain message (always on its own line) */
  note(message: string): void
  done(): void
}

const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
export function formatBytes(n: number): string {
  let i = 0
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024
    i++
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`
}

function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--'
  const s = Math.round(seconds)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const rest = String(s % 60).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`
}

export function createProgress(label: string, total: number, opts: { quiet: boolean; stream?: NodeJS.WriteStream } = { quiet: false }): Progress {
  const out = opts.stream ?? process.stderr
  const tty = out.isTTY === true
  const started = Date.now()
  let done = 0
  let lastDraw = 0
  let lastTenth = -1
  const line = () => {
    const secs = (Date.now() - started) / 1000
    const speed = secs > 0 ? done / secs : 0
    const pct = total > 0 ? Math.min(100, (done / total) * 100) : 100
    const eta = speed > 0 ? (total - done) / speed : Infinity
    return `${label}: ${pct.toFixed(0).padStart(3)}%  ${formatBytes(done)} of ${formatBytes(total)}  ${formatBytes(speed)}/s  ETA ${formatEta(eta)}`
  }
  return {
    add(bytes) {
      done += bytes
      if (opts.quiet) return
      if (tty) {
        const now = Date.now()
        if (now - lastDraw < 100 && done < total) return
        lastDraw = now
        out.write(`\r\x1b[2K${line()}`)
      } else {
        const tenth = total > 0 ? Math.floor((done / total) * 10) : 10
        if (tenth > lastTenth) {
          lastTenth = tenth
          out.write(`${line()}\n`)
        }
      }
    },
    note(message) {
      if (opts.quiet) return
      out.write(tty ? `\r\x1b[2K${message}\n` : `${message}\n`)
    },
    done() {
      if (!opts.quiet && tty) out.write(`\r\x1b[2K${line()}\n`)
    },
  }
}
