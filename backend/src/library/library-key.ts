/** Library files have no blob: their files row carries a placeholder storage key under this prefix. */
export const LIBRARY_KEY_PREFIX = 'library/'

export const isLibraryKey = (storageKey: string) => storageKey.startsWith(LIBRARY_KEY_PREFIX)
