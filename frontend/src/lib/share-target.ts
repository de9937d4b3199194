/**
 * Files shared to ShareSync from a phone's share sheet. The service worker (public/sw.js) receives
 * the POST of the Web Share Target, stores the files in IndexedDB and opens `/?share-target=1`; the
 * page takes them from there. Keep the names below in sync with sw.js.
 */
const DB_NAME = 'sharesync-share-target'
const STORE = 'files'

function openDb(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1)
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { autoIncrement: true })
    req.onsuccess = () => resolve(req.result)
    req.onerror = () => reject(req.error ?? new Error('indexedDB unavailable'))
  })
}

/** Takes (reads and deletes) the files the service worker stored. Empty when there are none. */
export async function takeSharedFiles(): Promise<File[]> {
  if (typeof indexedDB === 'undefined') return []
  const db = await openDb()
  try {
    return await new Promise<File[]>((resolve, reject) => {
      const tx = db.transaction(STORE, 'readwrite')
      const store = tx.objectStore(STORE)
      const all = store.getAll()
      all.onsuccess = () => {
        store.clear()
      }
      tx.oncomplete = () => resolve((all.result as unknown[]).filter((f): f is File => f instanceof File))
      tx.onerror = () => reject(tx.error ?? new Error('indexedDB transaction failed'))
    })
  } finally {
    db.close()
  }
}
