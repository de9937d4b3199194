import { readFileSync } from 'node:fs'

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
