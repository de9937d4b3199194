/** Generated test files and their digests (streamed: a 100 MB file never sits in memory twice). */
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, mkdtempSync, rmSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export function tempDir(prefix = 'sharesync-e2e-files-'): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/** Writes `size` random bytes to dir/name in 1 MiB chunks; returns the path. */
export function randomFile(dir: string, name: string, size: number): string {
  const path = join(dir, name)
  if (size === 0) {
    writeFileSync(path, '')
    return path
  }
  const fd = openSync(path, 'w')
  try {
    for (let left = size; left > 0;) {
      const n = Math.min(left, 1 << 20)
      writeSync(fd, randomBytes(n))
      left -= n
    }
  } finally {
    closeSync(fd)
  }
  return path
}

export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256')
    createReadStream(path)
      .on('data', (d) => hash.update(d))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')))
  })
}
