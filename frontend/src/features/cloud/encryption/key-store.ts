/**
 * The keys of encrypted links created in this browser, in IndexedDB: a pending upload needs its key
 * to encrypt the remaining parts after a reload, and the link page needs it to show the whole link
 * (`/s/<id>#<key>`) again. Never sent anywhere. Entries go when their link expires or is deleted.
 */
import { i18n } from '../../../i18n'

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

/** What a person is told when this browser cannot keep keys (a private window may block IndexedDB). */
const unavailable = (cause?: unknown) => new Error(i18n.t('engine.keyStoreUnavailable'), { cause })

function openDb(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    if (typeof indexedDB === 'undefined') return reject(unavailable())
    const req = indexedDB.open(DB_NAME, 1)
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'shareId' })
    req.onsuccess = () => resolve(req.result)
    req.onerror = () => reject(unavailable(req.error))
  })
}

async function run<T>(mode: IDBTransactionMode, work: (store: IDBObjectStore) => IDBRequest<T> | null): Promise<T | undefined> {
  const db = await openDb()
  try {
    return await new Promise<T | undefined>((resolve, reject) => {
      const tx = db.transaction(STORE, mode)
      const req = work(tx.objectStore(STORE))
      tx.oncomplete = () => resolve(req?.result)
      tx.onerror = () => reject(unavailable(tx.error))
      tx.onabort = () => reject(unavailable(tx.error))
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
