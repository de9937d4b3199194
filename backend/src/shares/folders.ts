import { folderPathProblem, joinPath } from '@sharesync/protocol'
import { AppError } from '../http/app-error'

/** A declared file as stored: name and folder in Unicode NFC. */
export interface TreeFile {
  name: string
  path: string
}

/**
 * The tree of a share's files, normalized (NFC) and checked: every folder path is relative and clean
 * (the protocol's schema checked it as sent; it is checked again after normalization), and no two
 * files of a folder share one place — neither the same path twice nor a file where a folder is.
 */
export function normalizeTree<T extends { name: string; path?: string }>(files: T[]): (T & TreeFile)[] {
  const out = files.map((f) => ({ ...f, name: f.name.normalize('NFC'), path: (f.path ?? '').normalize('NFC') }))
  const placed = new Set<string>()
  const folders = new Set<string>()
  for (const f of out) {
    const problem = folderPathProblem(f.path)
    if (problem) throw new AppError('invalid_input', `files: the folder "${f.path.slice(0, 100)}" ${problem}.`)
    if (f.path === '') continue
    if (/[/\\]/.test(f.name) || f.name === '.' || f.name === '..') throw new AppError('invalid_input', `files: a file in a folder must have a plain name, not "${f.name.slice(0, 100)}".`)
    const full = joinPath(f.path, f.name)
    if (placed.has(full)) throw new AppError('invalid_input', `files: "${full.slice(0, 200)}" is declared twice.`)
    placed.add(full)
    const segments = f.path.split('/')
    for (let i = 1; i <= segments.length; i++) folders.add(segments.slice(0, i).join('/'))
  }
  const clash = out.find((f) => folders.has(joinPath(f.path, f.name)))
  if (clash) throw new AppError('invalid_input', `files: "${joinPath(clash.path, clash.name).slice(0, 200)}" is both a file and a folder.`)
  return out
}
