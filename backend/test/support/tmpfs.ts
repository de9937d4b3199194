/**
 * A tiny filesystem that really fills up: a tmpfs of a given size mounted on a directory. Needs
 * root (CI runs as root); elsewhere `mountTmpfs` answers why it could not, and the caller skips.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'

export interface Mounted {
  dir: string
  unmount(): void
}

export function mountTmpfs(dir: string, bytes: number): Mounted | { error: string } {
  mkdirSync(dir, { recursive: true })
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0700`, 'tmpfs', dir], { stdio: 'pipe' })
  } catch (err) {
    return { error: `cannot mount a tmpfs here (${(err as Error).message.split('\n')[0]}); run as root to test a full disk` }
  }
  return {
    dir,
    unmount: () => execFileSync('umount', ['-l', dir], { stdio: 'ignore' }),
  }
}
