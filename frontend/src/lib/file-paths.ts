import { folderOf } from '@sharesync/protocol'

/**
 * Folders picked or dropped keep their tree: each File remembers the folder it sat in, relative to
 * what was picked or dropped. A picked folder (`webkitdirectory`) gives `webkitRelativePath`; files
 * read from a dropped folder (webkitGetAsEntry / getAsFileSystemHandle) are registered here.
 */
const folders = new WeakMap<File, string>()

/** The file's folder inside the share ('' at the top). */
export function folderOfFile(file: File): string {
  return folders.get(file) ?? folderOf(file.webkitRelativePath ?? '')
}

function remember(file: File, folder: string): File {
  folders.set(file, folder)
  return file
}

/** Chromium reads a directory in batches of 100: read until an empty batch. */
function readAll(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  return new Promise((resolve, reject) => {
    const all: FileSystemEntry[] = []
    const next = () =>
      reader.readEntries((batch) => {
        if (batch.length === 0) return resolve(all)
        all.push(...batch)
        next()
      }, reject)
    next()
  })
}

const fileOf = (entry: FileSystemFileEntry) => new Promise<File>((resolve, reject) => entry.file(resolve, reject))

async function walk(entry: FileSystemEntry, folder: string, out: File[]): Promise<void> {
  if (entry.isFile) {
    out.push(remember(await fileOf(entry as FileSystemFileEntry), folder))
  } else if (entry.isDirectory) {
    const inside = folder ? `${folder}/${entry.name}` : entry.name
    for (const child of await readAll((entry as FileSystemDirectoryEntry).createReader())) await walk(child, inside, out)
  }
}

/**
 * The files of a drop, folders walked recursively (each file knowing its folder). Entries must be
 * taken from the items synchronously, during the drop event: the DataTransfer is emptied after it.
 */
export function droppedFiles(data: DataTransfer): Promise<File[]> {
  const entries = Array.from(data.items ?? [])
    .filter((item) => item.kind === 'file')
    .map((item) => (typeof item.webkitGetAsEntry === 'function' ? item.webkitGetAsEntry() : null))
  if (entries.length === 0 || entries.some((e) => e === null) || !entries.some((e) => e!.isDirectory)) {
    return Promise.resolve(Array.from(data.files ?? []))
  }
  return (async () => {
    const out: File[] = []
    for (const entry of entries) await walk(entry!, '', out)
    return out
  })()
}
