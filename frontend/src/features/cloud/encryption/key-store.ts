/**
 * The keys of encrypted links created in this browser, in IndexedDB: a pending upload needs its key
 * to encrypt the remaining parts after a reload, and the link page needs it to show the whole link
 * (`/s/<id>#<key>`) again. Never sent anywhere. Entries go when their link expires or is deleted.
 */
const DB_NAME = 'sharesync-keys'
const STORE = 'links'

export interface StoredKey {
  shareId: string
  /** the link's fragment, without '#' */
  token: string
  /** input keying material (the link secret, and the password's share of the key if any) */
  ikm: Uint8Array
  /** the share password the server checks (password-protected keys only) */
  accessToken: string | null
  expiresAt: string
}

function openDb(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    if (typeof indexedDB === 'undefined') return reject(new Error('This browser has no IndexedDB.'))
    const req = indexedDB.open(DB_NAME, 1)
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'shareId' })
    req.onsuccess = () => resolve(req.result)
    req.onerror = () => reject(req.error ?? new Error('IndexedDB is unavailable.'))
  })
}

async function run<T>(mode: IDBTransactionMode, work: (store: IDBObjectStore) => IDBRequest<T> | null): Promise<T | undefined> {
  const db = await openDb()
  try {
    return await new Promise<T | undefined>((resolve, reject) => {
      const tx = db.transaction(STORE, mode)
      const req = work(tx.objectStore(STORE))
      tx.oncomplete = () => resolve(req?.result)
      tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed.'))
      tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted.'))
    })
  } finally {
    db.close()
  }
}

function isStoredKey(v: unknown): v is StoredKey {
  const k = v as Partial<StoredKey> | null
  return typeof k?.shareId === 'string' && typeof k.token === 'string' && k.ikm instanceof Uint8Array && typeof k.expiresAt === 'string'
}

export const keyStore = {
  async save(key: StoredKey): Promise<void> {
    await run('readwrite', (s) => s.put(key))
  },

  /** The key of this share, or null (another browser made it, storage was cleared, or it expired). */
  async get(shareId: string): Promise<StoredKey | null> {
    const found = await run('readonly', (s) => s.get(shareId)).catch(() => undefined)
    return isStoredKey(found) && Date.parse(found.expiresAt) > Date.now() ? found : null
  },

  async remove(shareId: string): Promise<void> {
    await run('readwrite', (s) => s.delete(shareId)).catch(() => undefined)
  },

  /** Forgets the keys of expired links. */
  async prune(): Promise<void> {
    const all = await run('readonly', (s) => s.getAll()).catch(() => undefined)
    for (const k of all ?? [])
      if (!isStoredKey(k) || Date.parse(k.expiresAt) <= Date.now()) await keyStore.remove((k as { shareId: string }).shareId)
  },
}
