import { joinPath } from '@sharesync/protocol'

/** A name as one path segment of an archive: no separators, no `.`/`..`, no control characters. */
function segment(name: string): string {
  const clean =
    name
      .replace(/[\u0000-\u001f\u007f\u202a-\u202e\u2066-\u2069]/g, '')
      .replace(/[/\\]/g, '_')
      .replace(/^([A-Za-z]):/, '$1_') || 'file'
  return clean === '.' || clean === '..' ? '_' : clean
}

/**
 * Each file's name inside the zip: its folder and its name, made unique case-insensitively (a
 * second `notes.txt` becomes `notes (2).txt`) — the same rule as the server's zips.
 */
export function entryNames(files: { name: string; path?: string }[]): string[] {
  const taken = new Set<string>()
  return files.map((f) => {
    const name = segment(f.name)
    const dot = name.lastIndexOf('.')
    const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, '']
    for (let n = 1; ; n++) {
      const candidate = joinPath(f.path, n === 1 ? name : `${stem} (${n})${ext}`)
      if (!taken.has(candidate.toLowerCase())) {
        taken.add(candidate.toLowerCase())
        return candidate
      }
    }
  })
}

/** The zip's file name: the share's one top folder, else one after the share. */
export function zipName(shareId: string, files: { path?: string }[]): string {
  const tops = new Set(files.map((f) => (f.path ?? '').split('/')[0] ?? ''))
  const [top] = [...tops]
  return tops.size === 1 && top ? `${segment(top)}.zip` : `share-${shareId.slice(0, 8)}.zip`
}
