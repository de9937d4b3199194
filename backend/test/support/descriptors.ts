import { readdirSync, readlinkSync } from 'node:fs'

/** This process's open descriptors whose target matches (Linux). */
const openWhere = (matches: (target: string) => boolean): number =>
  readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return matches(readlinkSync(`/proc/self/fd/${fd}`))
    } catch {
      return false
    }
  }).length

/** This process's open descriptors on files under `dir`: the test servers run in this process. */
export const openUnder = (dir: string): number => openWhere((target) => target.startsWith(`${dir}/`))

/** This process's open descriptors on the file `path` itself. */
export const openOn = (path: string): number => openWhere((target) => target === path)
