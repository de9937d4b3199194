/**
 * CPU time of a browser this process launched, per kind of process and thread (Linux /proc): where
 * a transfer's CPU goes, e.g. `renderer:DedicatedWorker` (the engine's workers), `renderer:chromium`
 * (the pages' main threads), `utility:Chrome_ChildIOT` (the network service that carries WebRTC's
 * UDP), `browser:ThreadPoolForeg` (file reads). On a shared machine CPU seconds are a steadier
 * figure than a throughput: two variants of one run are compared by what they cost.
 */
import { readdirSync, readFileSync } from 'node:fs'

const TICKS_PER_SECOND = 100

export interface CpuTracker {
  /** seconds of CPU since the start, by `type:thread`, largest first (under 0.1 s left out) */
  stop(): { total: number; byThread: Record<string, number> }
}

/**
 * Samples every 300 ms, so that a thread that ends before `stop()` (a worker terminated at the end
 * of its transfer) keeps its last reading.
 */
export function trackCpu(): CpuTracker {
  const first = readThreads()
  const last = new Map(first)
  const sample = () => {
    for (const [tid, t] of readThreads()) last.set(tid, t)
  }
  const timer = setInterval(sample, 300)
  return {
    stop() {
      clearInterval(timer)
      sample()
      const sums = new Map<string, number>()
      for (const [tid, t] of last) sums.set(t.key, (sums.get(t.key) ?? 0) + t.seconds - (first.get(tid)?.seconds ?? 0))
      const rows = [...sums].filter(([, s]) => s >= 0.1).sort((x, y) => y[1] - x[1])
      const round = (s: number) => Math.round(s * 10) / 10
      return { total: round([...sums.values()].reduce((x, y) => x + y, 0)), byThread: Object.fromEntries(rows.map(([k, s]) => [k, round(s)])) }
    },
  }
}

/** The fields of /proc/…/stat after the command name (which may hold spaces and parentheses). */
function statFields(path: string): { comm: string; fields: string[] } | null {
  try {
    const s = readFileSync(path, 'utf8')
    return { comm: s.slice(s.indexOf('(') + 1, s.lastIndexOf(')')), fields: s.slice(s.lastIndexOf(')') + 2).split(' ') }
  } catch {
    return null // the process or thread ended meanwhile
  }
}

/** Whether `pid` descends from this process (other people's browsers on the machine are left out). */
function ours(pid: string): boolean {
  let p = pid
  for (let depth = 0; depth < 12 && p !== '0' && p !== '1'; depth++) {
    if (p === String(process.pid)) return true
    p = statFields(`/proc/${p}/stat`)?.fields[1] ?? '0'
  }
  return false
}

function readThreads(): Map<string, { key: string; seconds: number }> {
  const out = new Map<string, { key: string; seconds: number }>()
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || pid === String(process.pid) || !ours(pid)) continue
    let cmdline: string
    let tids: string[]
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      tids = readdirSync(`/proc/${pid}/task`)
    } catch {
      continue
    }
    if (!cmdline.includes('chrom')) continue
    const type = /--type=([a-z-]+)/.exec(cmdline)?.[1] ?? 'browser'
    for (const tid of tids) {
      const stat = statFields(`/proc/${pid}/task/${tid}/stat`)
      if (!stat) continue
      // utime + stime; thread pools number their threads: one key for all of them.
      const seconds = (Number(stat.fields[11]) + Number(stat.fields[12])) / TICKS_PER_SECOND
      out.set(tid, { key: `${type}:${stat.comm.replace(/\d+$/, '')}`, seconds })
    }
  }
  return out
}
