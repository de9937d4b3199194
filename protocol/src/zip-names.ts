import { joinPath } from './paths'

/**
 * The name a file is saved under: no control or bidi-override characters, lone surrogates replaced
 * (encodeURIComponent would throw on them), at most 255 code points (never splitting a pair).
 */
export function cleanFilename(filename: string): string {
  const stripped = filename
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
    .replace(/[\u0000-\u001f\u007f\u202a-\u202e\u2066-\u2069]/g, '')
  return Array.from(stripped).slice(0, 255).join('') || 'download'
}

/** A name as one path segment of an archive: no separators, no `.`/`..`, no drive letter. */
function segment(name: string): string {
  const clean = cleanFilename(name)
    .replace(/[/\\]/g, '_')
    .replace(/^([A-Za-z]):/, '$1_')
  return clean === '.' || clean === '..' ? '_' : clean
}

/**
 * Each file's name in a share's zip (the server's and the one a browser builds while decrypting):
 * its folder and its name, made unique case-insensitively, as the file systems it will be extracted
 * to compare names — a second `notes.txt` becomes `notes (2).txt`.
 */
export function zipEntryNames(files: { name: string; path?: string }[]): string[] {
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

/** A share's zip file name: its one top folder, else one after the share. */
export function zipFileName(shareId: string, files: { path?: string }[]): string {
  const tops = new Set(files.map((f) => (f.path ?? '').split('/')[0] ?? ''))
  const [top] = [...tops]
  return tops.size === 1 && top ? `${segment(top)}.zip` : `share-${shareId.slice(0, 8)}.zip`
}
