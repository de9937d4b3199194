import { constants, type Dirent, type Stats } from 'node:fs'
import { open, readdir, readFile, readlink, realpath, stat, type FileHandle } from 'node:fs/promises'
import { join, relative, sep } from 'node:path'
import { MAX_LIBRARY_PATH_LENGTH } from '@sharesync/protocol'
import type { Config } from '../config'
import { AppError } from '../http/app-error'

export type LibraryConfig = NonNullable<Config['library']>

/** A library path split into its root and the segments below it (already checked for syntax). */
export interface LibraryPath {
  root: string
  segments: string[]
  /** `root/seg/seg`: the canonical spelling, as the API shows it */
  text: string
}

/** What an opened file or folder is; `handle` is the open descriptor the checks were made on. */
export interface Opened {
  handle: FileHandle
  stat: Stats
  /** the real path the kernel opened */
  real: string
}

export interface EntryInfo {
  name: string
  kind: 'file' | 'folder'
  size: number
  mtimeMs: number
  ino: number
}

interface ResolvedRoot {
  name: string
  real: string
  dev: number
  /** the mount the root's folder is on (Linux: /proc/self/fdinfo), null where unknown */
  mnt: number | null
  /** mount points below the root (bind mounts included): never listed, walked or opened */
  mountsBelow: Set<string>
}

const invalid = (message: string) => new AppError('library_path_invalid', message)
const forbidden = (message: string) => new AppError('library_forbidden', message)
const notFound = () => new AppError('library_not_found', 'No such file or folder in the library.')

/** The kernel's name for an open descriptor (Linux); null where /proc is not mounted. */
async function descriptorPath(handle: FileHandle): Promise<string | null> {
  try {
    return await readlink(`/proc/self/fd/${handle.fd}`)
  } catch {
    return null
  }
}

/** The mount id of an open descriptor (Linux); null where /proc is not mounted. */
async function mountId(handle: FileHandle): Promise<number | null> {
  try {
    const m = /^mnt_id:\s*(\d+)$/m.exec(await readFile(`/proc/self/fdinfo/${handle.fd}`, 'utf8'))
    return m ? Number(m[1]) : null
  } catch {
    return null
  }
}

/** Mount points strictly below `dir`, from /proc/self/mountinfo (its paths escape spaces and such as octal). */
async function mountPointsBelow(dir: string): Promise<Set<string>> {
  const below = new Set<string>()
  try {
    for (const line of (await readFile('/proc/self/mountinfo', 'utf8')).split('\n')) {
      const field = line.split(' ')[4]
      if (!field) continue
      const point = field.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)))
      if (point.startsWith(dir.endsWith(sep) ? dir : dir + sep)) below.add(point)
    }
  } catch {
    // No /proc: the device check still applies.
  }
  return below
}

/** A hidden name: dot-files and dot-folders never leave the library (`.ssh`, `.git`, `.env`…). */
export const isHidden = (name: string) => name.startsWith('.')

/** Turns an fs error into the answer a client gets; anything unexpected stays an error. */
function fsError(err: unknown): never {
  const code = (err as { code?: string }).code
  if (code === 'ENOENT' || code === 'ENOTDIR') throw notFound()
  if (code === 'EACCES' || code === 'EPERM') throw forbidden('The server may not read this file or folder.')
  if (code === 'ELOOP') throw forbidden('This path is a link that cannot be shared.')
  if (code === 'ENAMETOOLONG') throw invalid('This path is too long.')
  if (code === 'ENXIO' || code === 'ENODEV')
    throw forbidden('Only regular files and folders can be shared (not devices, sockets or pipes).')
  throw err
}

/**
 * Read-only access to the LIBRARY_DIR roots, with every path checked the same way:
 *
 * 1. syntax first, without touching the disk: relative, `/`-separated, no `.`/`..`/empty segments,
 *    no hidden segment, no control characters or backslashes;
 * 2. `realpath` of the candidate (every symlink resolved) must lie inside the root's real path, with
 *    no hidden component on the way;
 * 3. the real path is opened with O_NOFOLLOW | O_NONBLOCK (a FIFO swapped in cannot block us, a
 *    symlink swapped in for the last component is refused), and every check is repeated on the
 *    open descriptor: the kernel's path of the descriptor (/proc/self/fd) must be the same real path
 *    (an intermediate component swapped for a symlink between steps 2 and 3 shows here), its type
 *    must be a regular file or a folder (no devices, sockets, FIFOs), and it must sit on the root's
 *    device unless LIBRARY_CROSS_MOUNTS allows mounts below the root.
 *
 * Bytes are only ever read from such a descriptor, so what is served is what was checked.
 */
export class LibraryFs {
  constructor(readonly config: LibraryConfig) {}

  get rootNames(): string[] {
    return this.config.roots.map((r) => r.name)
  }

  /** Parses a path given by a client. Throws 400 for bad syntax, 403 for hidden segments, 404 for an unknown root. */
  parse(input: string): LibraryPath {
    if (input.length > MAX_LIBRARY_PATH_LENGTH) throw invalid(`A library path has at most ${MAX_LIBRARY_PATH_LENGTH} characters.`)
    if (input.startsWith('/')) throw invalid('Library paths are relative: they start with the library folder name, not with "/".')
    // Control characters (NUL included), backslashes and lone surrogates are refused outright.
    if (/[\u0000-\u001f\u007f\\]/.test(input)) throw invalid('This path contains characters a library path cannot have.')
    if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(input))
      throw invalid('This path is not valid Unicode.')
    const trimmed = input.replace(/\/+$/, '')
    const parts = trimmed.split('/')
    if (parts.some((p) => p === '')) throw invalid('This path has an empty segment ("//").')
    if (parts.some((p) => p === '.' || p === '..')) throw invalid('"." and ".." are not allowed in library paths.')
    if (parts.some((p) => Buffer.byteLength(p) > 255)) throw invalid('A name in this path is too long.')
    if (parts.some(isHidden)) throw forbidden('Hidden files and folders cannot be shared.')
    const [root, ...segments] = parts
    if (!root || !this.config.roots.some((r) => r.name === root)) throw notFound()
    return { root, segments, text: parts.join('/') }
  }

  /** The root's real path and device, looked up on every use: a NAS may be remounted while we run. */
  private async resolveRoot(name: string): Promise<ResolvedRoot> {
    const root = this.config.roots.find((r) => r.name === name)
    if (!root) throw notFound()
    try {
      const real = await realpath(root.dir)
      const handle = await open(real, constants.O_RDONLY | constants.O_DIRECTORY)
      try {
        const info = await handle.stat()
        const crossMounts = this.config.crossMounts
        return {
          name,
          real,
          dev: info.dev,
          mnt: crossMounts ? null : await mountId(handle),
          mountsBelow: crossMounts ? new Set() : await mountPointsBelow(real),
        }
      } finally {
        await handle.close()
      }
    } catch {
      throw new AppError('library_unavailable', `The library folder "${name}" is not available right now.`)
    }
  }

  /** The real path of a parsed path, inside its root (step 2). */
  private async realInside(path: LibraryPath): Promise<{ root: ResolvedRoot; real: string }> {
    const root = await this.resolveRoot(path.root)
    const real = await realpath(join(root.real, ...path.segments)).catch(fsError)
    this.assertInside(root, real)
    return { root, real }
  }

  private assertInside(root: ResolvedRoot, real: string): void {
    if (real === root.real) return
    if (!real.startsWith(root.real.endsWith(sep) ? root.real : root.real + sep)) {
      throw forbidden('This path leads outside the library (through a symbolic link).')
    }
    if (relative(root.real, real).split(sep).some(isHidden)) throw forbidden('This path leads to a hidden file or folder.')
    for (const point of root.mountsBelow) {
      if (real === point || real.startsWith(point + sep))
        throw forbidden('This path leads to another file system mounted inside the library.')
    }
  }

  /** Opens a file or folder of the library and checks the open descriptor (step 3). The caller closes it. */
  async open(path: LibraryPath, want: 'file' | 'folder' | 'any' = 'any'): Promise<Opened> {
    const { root, real } = await this.realInside(path)
    // Devices, sockets and FIFOs are refused before any open (opening a FIFO would wait for a writer).
    const before = await stat(real).catch(fsError)
    if (!before.isFile() && !before.isDirectory())
      throw forbidden('Only regular files and folders can be shared (not devices, sockets or pipes).')
    if (want === 'file' && !before.isFile()) throw forbidden('This is a folder, not a file.')
    if (want === 'folder' && !before.isDirectory()) throw forbidden('This is a file, not a folder.')
    const flags = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | (want === 'folder' ? constants.O_DIRECTORY : 0)
    const handle = await open(real, flags).catch(fsError)
    try {
      const info = await handle.stat()
      const opened = (await descriptorPath(handle)) ?? (await realpath(real).catch(fsError))
      if (opened !== real) throw forbidden('This path changed while it was being opened.')
      if (!this.config.crossMounts && info.dev !== root.dev)
        throw forbidden('This path leads to another file system mounted inside the library.')
      // A bind mount may come from the same device: the descriptor's mount tells.
      if (root.mnt !== null) {
        const mnt = await mountId(handle)
        if (mnt !== null && mnt !== root.mnt) throw forbidden('This path leads to another file system mounted inside the library.')
      }
      if (!info.isFile() && !info.isDirectory())
        throw forbidden('Only regular files and folders can be shared (not devices, sockets or pipes).')
      if (want === 'file' && !info.isFile()) throw forbidden('This is a folder, not a file.')
      if (want === 'folder' && !info.isDirectory()) throw forbidden('This is a file, not a folder.')
      return { handle, stat: info, real }
    } catch (err) {
      await handle.close().catch(() => undefined)
      throw err
    }
  }

  /** Size, modification time and kind of one file or folder. */
  async info(path: LibraryPath): Promise<EntryInfo> {
    const opened = await this.open(path)
    await opened.handle.close()
    return toInfo(path.segments.at(-1) ?? path.root, opened.stat)
  }

  /**
   * The visible entries of a folder: regular files and folders, and symbolic links that stay inside
   * the root (shown as what they point to). Hidden names and special files are left out. At most
   * `limit` entries (folders first, then by name); `truncated` says there were more.
   */
  async list(path: LibraryPath, limit: number): Promise<{ entries: EntryInfo[]; truncated: boolean }> {
    const { handle, real } = await this.open(path, 'folder')
    let dirents: Dirent[]
    try {
      // Read through the descriptor itself where the kernel allows it: the folder that was checked.
      const viaFd = (await descriptorPath(handle)) === real ? `/proc/self/fd/${handle.fd}` : real
      dirents = await readdir(viaFd, { withFileTypes: true }).catch(fsError)
    } finally {
      await handle.close()
    }
    const root = await this.resolveRoot(path.root)
    const entries: EntryInfo[] = []
    for (const d of dirents) {
      if (isHidden(d.name)) continue
      const info = await this.visibleEntry(root, real, d)
      if (info) entries.push(info)
    }
    entries.sort((a, b) => (a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind === 'folder' ? -1 : 1))
    return { entries: entries.slice(0, limit), truncated: entries.length > limit }
  }

  /** One directory entry as the library shows it, or null when it must stay invisible. */
  private async visibleEntry(root: ResolvedRoot, dir: string, d: Dirent, followLinks = true): Promise<EntryInfo | null> {
    const full = join(dir, d.name)
    try {
      if (d.isFile() || d.isDirectory()) {
        this.assertInside(root, full)
        const info = await stat(full)
        if (!this.config.crossMounts && info.dev !== root.dev) return null
        return info.isFile() || info.isDirectory() ? toInfo(d.name, info) : null
      }
      if (d.isSymbolicLink() && followLinks) {
        const target = await realpath(full)
        this.assertInside(root, target)
        const info = await stat(target)
        if (!this.config.crossMounts && info.dev !== root.dev) return null
        return info.isFile() || info.isDirectory() ? toInfo(d.name, info) : null
      }
    } catch {
      // Gone meanwhile, unreadable, or a link leading outside: not shown.
    }
    return null
  }

  /**
   * Every visible file and folder below `path`, breadth first, as paths relative to it. Symbolic
   * links to files inside the root are included; links to folders are not descended into (no loops).
   * Stops after `limit` entries (`truncated`).
   */
  async walk(
    path: LibraryPath,
    limit: number,
    match?: (name: string) => boolean,
  ): Promise<{ entries: (EntryInfo & { rel: string })[]; truncated: boolean }> {
    const top = await this.open(path, 'folder')
    await top.handle.close()
    const root = await this.resolveRoot(path.root)
    const out: (EntryInfo & { rel: string })[] = []
    const queue: { real: string; rel: string }[] = [{ real: top.real, rel: '' }]
    let visited = 0
    while (queue.length > 0) {
      const dir = queue.shift()!
      const dirents = await readdir(dir.real, { withFileTypes: true }).catch(() => [] as Dirent[])
      dirents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      for (const d of dirents) {
        if (isHidden(d.name)) continue
        const info = await this.visibleEntry(root, dir.real, d)
        if (!info) continue
        const rel = dir.rel ? `${dir.rel}/${d.name}` : d.name
        // Matching walks (search) visit many more entries than they return: both are bounded.
        if (++visited > limit * (match ? 50 : 1)) return { entries: out, truncated: true }
        if (!match || match(d.name)) {
          if (out.length >= limit) return { entries: out, truncated: true }
          out.push({ ...info, rel })
        }
        if (info.kind === 'folder' && !d.isSymbolicLink()) queue.push({ real: join(dir.real, d.name), rel })
      }
    }
    return { entries: out, truncated: false }
  }
}

function toInfo(name: string, info: Stats): EntryInfo {
  return {
    name,
    kind: info.isDirectory() ? 'folder' : 'file',
    size: info.isDirectory() ? 0 : info.size,
    mtimeMs: info.mtimeMs,
    ino: info.ino,
  }
}

/** Joins a parsed path with more segments (entries of a folder link). */
export function childPath(path: LibraryPath, rel: string): LibraryPath {
  const segments = [...path.segments, ...rel.split('/')]
  return { root: path.root, segments, text: [path.root, ...segments].join('/') }
}
