import { readdirSync, readFileSync } from 'node:fs'

/** Resident set size of a process in bytes, from /proc (Linux). null once the process is gone. */
export function rssBytes(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) * 1024 : null
  } catch {
    return null
  }
}

export interface RssSummary {
  baselineMiB: number
  peakMiB: number
  samples: number
}

/**
 * Samples a process's RSS every `intervalMs` while `work` runs. The baseline is the RSS just
 * before the work starts, so a figure reads as "this much more memory while moving N bytes".
 */
export async function sampleRss<T>(pid: number, work: () => Promise<T>, intervalMs = 100): Promise<{ result: T; rss: RssSummary }> {
  const baseline = rssBytes(pid) ?? 0
  let peak = baseline
  let samples = 0
  const timer = setInterval(() => {
    const now = rssBytes(pid)
    if (now !== null) {
      samples++
      peak = Math.max(peak, now)
    }
  }, intervalMs)
  try {
    const result = await work()
    return { result, rss: { baselineMiB: mib(baseline), peakMiB: mib(peak), samples } }
  } finally {
    clearInterval(timer)
  }
}

export const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10

/** CPU seconds (user + system, every thread) a process has used so far, from /proc (Linux); 0 once it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return 0
  }
}

/**
 * CPU seconds used so far by the descendants of process `root` (not `root` itself), leaving out the
 * subtrees of `except`: e.g. the browser's processes, as children of the bench, apart from the app
 * server the bench also started. Processes that already ended are not counted.
 */
export function treeCpuSeconds(root: number, except: number[] = []): number {
  const parent = new Map<number, number>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]))
    } catch {
      // ended meanwhile
    }
  }
  const under = (pid: number): boolean => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) {
      if (except.includes(p)) return false
      if (p === root) return true
    }
    return false
  }
  let total = 0
  for (const pid of parent.keys()) if (!except.includes(pid) && under(pid)) total += cpuSeconds(pid)
  return Math.round(total * 100) / 100
}

/**
 * The pid of Chromium's browser process among the children of `parent` (the one without `--type=`:
 * every renderer, GPU or utility process has one), or null. It holds the memory of Blobs and request
 * bodies, so it is the process to watch while a page uploads what it made in memory.
 */
export function chromiumBrowserPid(parent: number): number | null {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid !== parent) continue
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0')
      if (/chrom/i.test(args[0] ?? '') && !args.some((a) => a.startsWith('--type='))) return Number(entry)
    } catch {
      // the process ended while it was read
    }
  }
  return null
}
