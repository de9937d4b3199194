import { readdirSync, readlinkSync } from 'node:fs'

/** This process's open descriptors on files under `dir` (Linux): the test servers run in this process. */
export const openUnder = (dir: string): number =>
  readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith(`${dir}/`)
    } catch {
      return false
    }
  }).length
