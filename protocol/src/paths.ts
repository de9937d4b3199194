import { z } from 'zod'

/**
 * Folders in a share: each file may carry the folder it sat in, relative to what was picked or
 * dropped (`holiday/day 1` for `holiday/day 1/beach.jpg`). The server stores it (Unicode NFC),
 * shows the tree to recipients and zips the share with it, so it must be a path that can never
 * point outside the folder it is extracted to: relative, `/`-separated, no `.`, `..` or empty
 * segments, no backslashes, drive letters or control characters, and within length caps.
 */
export const MAX_FOLDER_PATH_LENGTH = 1024
export const MAX_FOLDER_DEPTH = 32
export const MAX_PATH_SEGMENT_LENGTH = 255

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/
const DRIVE = /^[A-Za-z]:/

/** Why `path` is not an acceptable folder path, or null when it is (an empty path is the top). */
export function folderPathProblem(path: string): string | null {
  if (path === '') return null
  if (path.length > MAX_FOLDER_PATH_LENGTH) return `at most ${MAX_FOLDER_PATH_LENGTH} characters`
  if (path.startsWith('/')) return 'must be relative (it starts with "/")'
  if (DRIVE.test(path)) return 'must be relative (it starts with a drive letter)'
  if (path.includes('\\')) return 'must use "/" between folders, not "\\"'
  if (CONTROL.test(path)) return 'must not contain control or direction-override characters'
  if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(path)) return 'must be valid Unicode'
  const segments = path.split('/')
  if (segments.length > MAX_FOLDER_DEPTH) return `at most ${MAX_FOLDER_DEPTH} folders deep`
  for (const s of segments) {
    if (s === '') return 'must not have empty folder names (no leading, trailing or doubled "/")'
    if (s === '.' || s === '..') return 'must not contain "." or ".." folders'
    if (s.length > MAX_PATH_SEGMENT_LENGTH) return `folder names may be at most ${MAX_PATH_SEGMENT_LENGTH} characters`
  }
  return null
}

/** A file's folder inside the share (see folderPathProblem); '' or absent: at the top. */
export const FolderPath = z
  .string()
  .max(MAX_FOLDER_PATH_LENGTH)
  .superRefine((value, ctx) => {
    const problem = folderPathProblem(value)
    if (problem) ctx.addIssue({ code: 'custom', message: `path: ${problem}` })
  })

/** The folder a browser reports for a picked or dropped file (`webkitRelativePath` minus the name). */
export function folderOf(relativePath: string): string {
  const i = relativePath.lastIndexOf('/')
  return i <= 0 ? '' : relativePath.slice(0, i)
}

/** The name a file has in the share's tree and zip: its folder, then its name. */
export const joinPath = (folder: string | undefined | null, name: string) => (folder ? `${folder}/${name}` : name)
