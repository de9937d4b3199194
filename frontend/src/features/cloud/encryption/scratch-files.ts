/**
 * Scratch files the encrypted links keep in the origin's private storage (OPFS): a download's
 * verified copy before it is offered, an upload's sealed part before its PUT.
 */

/** A directory of the origin's private storage, created when missing. */
export async function scratchDir(name: string): Promise<FileSystemDirectoryHandle> {
  return (await navigator.storage.getDirectory()).getDirectoryHandle(name, { create: true })
}

/** Removes the files of directory `name` last written more than `maxAgeMs` ago. Best effort: never rejects. */
export async function removeOldScratch(name: string, maxAgeMs: number): Promise<void> {
  try {
    const dir = (await scratchDir(name)) as FileSystemDirectoryHandle & { keys?: () => AsyncIterable<string> }
    if (!dir.keys) return
    const names: string[] = []
    for await (const entry of dir.keys()) names.push(entry)
    for (const entry of names) {
      const age = await dir.getFileHandle(entry).then(
        async (h) => Date.now() - (await h.getFile()).lastModified,
        () => 0,
      )
      if (age > maxAgeMs) await dir.removeEntry(entry).catch(() => undefined)
    }
  } catch {
    // storage may be unavailable here
  }
}
