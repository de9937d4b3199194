import { i18n } from '../../i18n'
import { encryptedSize, ShareKey } from '@sharesync/crypto'
import { useSyncExternalStore } from 'react'
import { ApiError, errorMessage } from '../../lib/api'
import { keyStore } from './encryption/key-store'
import { partEncoder } from './encryption/seal-upload'
import { isCancelled, UploadEngine, type UploadSnapshot } from './upload-engine'
import { pendingUploads, type PendingUpload } from './upload-records'

/**
 * The links this page is sending: their files (which the sender's page also serves directly while
 * it is open) and the background upload of their cloud copy — the resumable engine, encrypted when
 * the link is. It lives beside the pages, so that the result page shows the upload while it runs and
 * a move to another page of the app does not stop it. A reload loses the files (browsers cannot
 * reopen them): the home page then offers to resume the upload with the same files picked again.
 */

export interface Sending {
  shareId: string
  /** the link's files, by the share's file ids (null: already stored whole, after a reload) */
  files: { fileId: string; file: File | null }[]
  /** 'off': the sender chose no cloud copy (served only while this page is open) */
  cloud: 'off' | 'uploading' | 'done' | 'failed' | 'cancelled'
  snapshot: UploadSnapshot | null
  error: string | null
}

type Entry = Sending & { engine: UploadEngine | null; pending: PendingUpload | null; key?: ShareKey }

const entries = new Map<string, Entry>()
/** What the pages see: a new object per change (React's external-store snapshots compare by identity). */
const views = new Map<string, Sending>()
const listeners = new Set<() => void>()

function announce() {
  for (const fn of listeners) fn()
}

function changed(entry: Entry, patch: Partial<Entry>) {
  Object.assign(entry, patch)
  if (entries.get(entry.shareId) !== entry) return
  const { shareId, files, cloud, snapshot, error } = entry
  views.set(shareId, { shareId, files, cloud, snapshot, error })
  announce()
}

function remove(shareId: string) {
  entries.delete(shareId)
  views.delete(shareId)
  announce()
}

class MissingKeyError extends Error {
  constructor() {
    super(i18n.t('engine.keyLost'))
    this.name = 'MissingKeyError'
  }
}

/** The key of an encrypted pending upload: in memory for a fresh start, from IndexedDB after a reload. */
async function uploadKey(pending: PendingUpload, fresh?: ShareKey): Promise<ShareKey | null> {
  if (!pending.encrypted) return null
  if (fresh) return fresh
  const stored = await keyStore.get(pending.shareId)
  if (!stored) throw new MissingKeyError()
  return ShareKey.fromIkm(stored.ikm, stored.accessToken)
}

export const outbox = {
  get: (shareId: string): Sending | null => views.get(shareId) ?? null,

  subscribe(fn: () => void): () => void {
    listeners.add(fn)
    return () => listeners.delete(fn)
  },

  /** A link served only by this page (no cloud copy): its files, nothing uploaded. */
  hold(shareId: string, files: { fileId: string; file: File }[]): void {
    const entry: Entry = { shareId, files, cloud: 'off', snapshot: null, error: null, engine: null, pending: null }
    entries.set(shareId, entry)
    changed(entry, {})
  },

  /**
   * Uploads (or resumes) the cloud copy of `pending`. `files[i]` may be null for a file the server
   * already holds complete. Resolves when the copy is stored, failed or was cancelled.
   */
  async upload(pending: PendingUpload, files: (File | null)[], key?: ShareKey): Promise<void> {
    const old = entries.get(pending.shareId)
    if (old?.engine) {
      old.engine.cancel()
      await old.engine.settled
    }
    const entry: Entry = {
      shareId: pending.shareId,
      files: pending.files.map((p, i) => ({ fileId: p.fileId, file: files[i] ?? null })),
      cloud: 'uploading',
      // A retry shows the last state until the engine's first report (the page does not jump under
      // a second click of Retry).
      snapshot: old?.snapshot ?? null,
      error: null,
      engine: null,
      pending,
      ...(key ? { key } : {}),
    }
    entries.set(pending.shareId, entry)
    changed(entry, {})
    let k: ShareKey | null
    try {
      k = await uploadKey(pending, key)
    } catch (err) {
      pendingUploads.clear()
      void keyStore.remove(pending.shareId)
      return changed(entry, { cloud: 'failed', error: errorMessage(err) })
    }
    const engine = new UploadEngine({
      shareId: pending.shareId,
      ownerToken: pending.ownerToken,
      names: pending.files.map((p) => p.name),
      files: pending.files.map((p, i) => {
        const file = files[i] ?? undefined
        return {
          fileId: p.fileId,
          size: pending.encrypted ? encryptedSize(p.size) : p.size,
          partSize: p.partSize,
          partCount: p.partCount,
          ...(file ? { file } : {}),
          ...(k && file ? { encoder: partEncoder(k, i, file) } : {}),
        }
      }),
      // A stopped engine still reports its last state: a newer one has taken over, ignore it.
      onProgress: (snap) => {
        if (entry.engine === engine) changed(entry, { snapshot: snap })
      },
    })
    changed(entry, { engine })
    try {
      await engine.run()
      pendingUploads.clear()
      changed(entry, { cloud: 'done', engine: null })
    } catch (err) {
      if (entry.engine !== engine) return
      if (isCancelled(err)) return changed(entry, { cloud: 'cancelled', engine: null })
      // The share is gone (expired, deleted, cleaned up): there is nothing left to resume.
      if (err instanceof ApiError && err.status === 404) {
        pendingUploads.clear()
        void keyStore.remove(pending.shareId)
        return changed(entry, { cloud: 'failed', engine: null, error: i18n.t('engine.resumeGone') })
      }
      changed(entry, { cloud: 'failed', engine: null, error: errorMessage(err) })
    }
  },

  /** Tries the failed upload again with the same files (and key). */
  retry(shareId: string): Promise<void> {
    const e = entries.get(shareId)
    if (!e?.pending || e.cloud !== 'failed') return Promise.resolve()
    return outbox.upload(
      e.pending,
      e.files.map((f) => f.file),
      e.key,
    )
  },

  /** Stops the upload (the caller deletes the share) and forgets the link's files. */
  async cancel(shareId: string): Promise<void> {
    const e = entries.get(shareId)
    if (!e) return
    const engine = e.engine
    e.engine = null
    engine?.cancel()
    await engine?.settled
    pendingUploads.clear()
    remove(shareId)
  },

  forget(shareId: string): void {
    const e = entries.get(shareId)
    if (!e) return
    e.engine?.cancel()
    remove(shareId)
  },
}

/** The link `shareId` as this page is sending it (null: not sent from this page since its load). */
export function useSending(shareId: string): Sending | null {
  return useSyncExternalStore(outbox.subscribe, () => outbox.get(shareId))
}
