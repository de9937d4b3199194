import { i18n } from '../../i18n'
import { encryptedSize, ShareKey } from '@sharesync/crypto'
import { CreateShareRequest, MAX_FILES_PER_SHARE, MAX_NOTE_LENGTH, MAX_PASSWORD_LENGTH } from '@sharesync/protocol'
import { useCallback, useEffect, useRef, useState } from 'react'
import { useNavigate } from 'react-router-dom'
import { ApiError, errorMessage } from '../../lib/api'
import { folderOfFile } from '../../lib/file-paths'
import { useLeaveGuard } from '../../lib/use-leave-guard'
import { cloudApi } from './cloud-api'
import { keyStore } from './encryption/key-store'
import { partEncoder, sealShare } from './encryption/seal-upload'
import { ownedLinks, pendingUploads, type PendingUpload } from './upload-records'
import { isCancelled, UploadEngine, type UploadSnapshot } from './upload-engine'

export interface UploadChoice {
  expiresIn?: number
  maxDownloads: number | null
  password: string
  /** End-to-end encryption: contents, names and types are encrypted in this browser. */
  encrypted: boolean
  /** the note to recipients ('' for none); encrypted with the names on an encrypted share */
  note: string
  /** recipients may preview files on the share page */
  previews: boolean
}

/** The key of an encrypted pending upload: in memory for a fresh start, from IndexedDB after a reload. */
async function uploadKey(pending: PendingUpload, fresh?: ShareKey): Promise<ShareKey | null> {
  if (!pending.encrypted) return null
  if (fresh) return fresh
  const stored = await keyStore.get(pending.shareId)
  if (!stored) throw new MissingKeyError()
  return ShareKey.fromIkm(stored.ikm, stored.accessToken)
}

class MissingKeyError extends Error {
  constructor() {
    super(i18n.t('engine.keyLost'))
    this.name = 'MissingKeyError'
  }
}

/**
 * The upload flow of the home page: create the share, remember it (to resume), run the engine,
 * then remember the finished link with its owner token and open its result page.
 */
export function useUpload() {
  const navigate = useNavigate()
  const engine = useRef<UploadEngine | null>(null)
  const current = useRef<{ pending: PendingUpload; files: (File | null)[]; key?: ShareKey; token?: string } | null>(null)
  const [snapshot, setSnapshot] = useState<UploadSnapshot | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  // busy from creating the share to its result page; a failed or cancelled upload is not busy.
  useLeaveGuard(busy)

  useEffect(() => () => engine.current?.cancel(), [])

  /** The share is finalized: remember the link (with its owner token) and open its result page. */
  const finished = useCallback(
    async (pending: PendingUpload, fresh?: { token: string }) => {
      ownedLinks.add({
        id: pending.shareId,
        url: pending.url,
        ownerToken: pending.ownerToken,
        expiresAt: pending.expiresAt,
        maxDownloads: pending.maxDownloads,
        passwordProtected: pending.passwordProtected,
        ...(pending.encrypted ? { encrypted: true } : {}),
        createdAt: pending.createdAt,
        files: pending.files.map((f) => ({ name: f.name, size: f.size })),
      })
      pendingUploads.clear()
      // The key also rides along in memory, for a browser whose IndexedDB refused to keep it.
      await navigate(`/links/${encodeURIComponent(pending.shareId)}`, { state: fresh ? { token: fresh.token } : null })
    },
    [navigate],
  )

  const forget = useCallback((pending: PendingUpload) => {
    pendingUploads.clear()
    void keyStore.remove(pending.shareId)
    current.current = null
  }, [])

  /**
   * Runs (or resumes) an upload. `files[i]` may be null for a file the server already holds
   * complete. One engine at a time: a previous one is stopped, and has stopped, before this starts.
   */
  const run = useCallback(
    async (pending: PendingUpload, files: (File | null)[], fresh?: { key: ShareKey; token: string }) => {
      const previous = engine.current
      engine.current = null
      if (previous) {
        previous.cancel()
        await previous.settled
      }
      current.current = { pending, files, ...fresh }
      setError(null)
      setBusy(true)
      let key: ShareKey | null
      try {
        key = await uploadKey(pending, fresh?.key)
      } catch (err) {
        forget(pending)
        setBusy(false)
        setError(errorMessage(err))
        return
      }
      const e = new UploadEngine({
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
            ...(key && file ? { encoder: partEncoder(key, i, file) } : {}),
          }
        }),
        // A stopped engine still reports its last state: the page has moved on, ignore it.
        onProgress: (snap) => {
          if (engine.current === e) setSnapshot(snap)
        },
      })
      engine.current = e
      try {
        await e.run()
        await finished(pending, fresh)
      } catch (err) {
        if (isCancelled(err)) return
        // The share is gone (expired, deleted, cleaned up): there is nothing left to resume.
        if (err instanceof ApiError && err.status === 404) {
          forget(pending)
          setError(i18n.t('engine.resumeGone'))
          return
        }
        setError(errorMessage(err))
      } finally {
        if (engine.current === e) engine.current = null
        setBusy(false)
      }
    },
    [finished, forget],
  )

  /**
   * After a reload: what the server holds of the interrupted upload. A finalized share opens its
   * result page; one whose files are all complete is finalized without asking for any file; else
   * the answer names the files still needed (null when the server could not be asked).
   */
  const check = useCallback(
    async (pending: PendingUpload): Promise<{ needed: number[] } | 'gone' | 'resumed' | null> => {
      let state
      try {
        state = await cloudApi.uploadState(pending.shareId, pending.ownerToken)
      } catch (err) {
        if (err instanceof ApiError && (err.status === 404 || err.status === 403)) {
          forget(pending)
          return 'gone'
        }
        return null
      }
      if (state.status === 'finalized') {
        await finished(pending)
        return 'resumed'
      }
      const needed = pending.files.flatMap((p, i) => (state.files.find((f) => f.id === p.fileId)?.completed ? [] : [i]))
      if (needed.length > 0) return { needed }
      void run(
        pending,
        pending.files.map(() => null),
      )
      return 'resumed'
    },
    [finished, forget, run],
  )

  const start = useCallback(
    async (files: File[], choice: UploadChoice) => {
      setError(null)
      setBusy(true)
      setSnapshot({
        phase: 'checking',
        totalBytes: files.reduce((n, f) => n + f.size, 0),
        uploadedBytes: 0,
        resumedBytes: 0,
        bytesPerSecond: 0,
        secondsLeft: null,
        percent: 0,
        files: files.map((f) => ({ name: f.name, size: f.size, uploaded: 0 })),
      })
      // The server's own schema (from protocol/): a mistake is explained here, before any upload.
      const plain = CreateShareRequest.safeParse({
        files: files.map((f) => ({
          name: f.name,
          size: f.size,
          type: (f.type || 'application/octet-stream').slice(0, 255),
          ...(folderOfFile(f) ? { path: folderOfFile(f) } : {}),
        })),
        expiresIn: choice.expiresIn,
        maxDownloads: choice.maxDownloads,
        password: choice.password || undefined,
        ...(choice.note.trim() ? { note: choice.note } : {}),
        previews: choice.previews,
      })
      if (!plain.success) {
        setSnapshot(null)
        setBusy(false)
        setError(describeInvalid(plain.error.issues[0]))
        return
      }
      try {
        // End-to-end encryption: names, types and (with a password) the key are sealed here, before
        // anything is sent; the server gets encrypted sizes and an opaque envelope.
        const sealed = choice.encrypted
          ? await sealShare(files, {
              expiresIn: choice.expiresIn,
              maxDownloads: choice.maxDownloads,
              password: choice.password || null,
              note: choice.note.trim() ? choice.note : undefined,
              previews: choice.previews,
            })
          : null
        const body = sealed ? CreateShareRequest.safeParse(sealed.request) : plain
        if (!body.success) {
          setSnapshot(null)
          setBusy(false)
          setError(describeInvalid(body.error.issues[0]))
          return
        }
        const created = await cloudApi.createShare(body.data)
        if (!created.ownerToken) throw new Error(i18n.t('engine.noOwnerToken'))
        const pending: PendingUpload = {
          shareId: created.id,
          ownerToken: created.ownerToken,
          url: created.url,
          expiresAt: created.expiresAt,
          maxDownloads: created.maxDownloads,
          passwordProtected: Boolean(choice.password),
          ...(sealed ? { encrypted: true } : {}),
          createdAt: new Date().toISOString(),
          files: created.files.map((cf, i) => ({
            fileId: cf.id,
            name: files[i]!.name,
            size: files[i]!.size,
            type: files[i]!.type,
            lastModified: files[i]!.lastModified,
            partSize: cf.partSize,
            partCount: cf.partCount,
          })),
        }
        if (sealed) {
          // Kept before the first part is sent: a reload resumes with the same key.
          await keyStore
            .save({ shareId: created.id, token: sealed.token, ikm: sealed.key.ikm, accessToken: sealed.key.accessToken, expiresAt: created.expiresAt })
            .catch(() => undefined)
        }
        pendingUploads.save(pending)
        await run(pending, files, sealed ? { key: sealed.key, token: sealed.token } : undefined)
      } catch (err) {
        setSnapshot(null)
        setBusy(false)
        setError(errorMessage(err))
      }
    },
    [run],
  )

  /** Cancel: stop the transfers and delete the half-uploaded share so nothing lingers on the server. */
  const cancel = useCallback(async () => {
    const e = engine.current
    engine.current = null
    e?.cancel()
    await e?.settled
    const c = current.current
    current.current = null
    setSnapshot(null)
    setBusy(false)
    pendingUploads.clear()
    if (c) {
      void keyStore.remove(c.pending.shareId)
      await cloudApi.deleteShare(c.pending.shareId, c.pending.ownerToken).catch(() => undefined)
    }
  }, [])

  const retrying = useRef(false)
  const retry = useCallback(async () => {
    const c = current.current
    // A second click while the retry starts must not start a second engine.
    if (!c || retrying.current) return
    retrying.current = true
    try {
      await run(c.pending, c.files, c.key && c.token ? { key: c.key, token: c.token } : undefined)
    } finally {
      retrying.current = false
    }
  }, [run])

  const reset = useCallback(() => {
    current.current = null
    setSnapshot(null)
    setError(null)
  }, [])

  return { snapshot, error, busy, start, resume: run, check, cancel, retry, reset, hasCurrent: () => current.current !== null }
}

/** A sentence for the first problem the protocol schema found in the chosen files and options. */
function describeInvalid(issue: { path: PropertyKey[]; message: string } | undefined): string {
  const where = issue?.path[0]
  if (where === 'files') {
    return issue?.path.length === 1
      ? i18n.t('engine.fileCount', { max: MAX_FILES_PER_SHARE })
      : i18n.t('engine.fileInvalid', { message: issue?.message ?? 'invalid' })
  }
  if (where === 'password') return i18n.t('engine.passwordTooLong', { max: MAX_PASSWORD_LENGTH })
  if (where === 'note') return i18n.t('newText.noteTooLong', { max: MAX_NOTE_LENGTH })
  if (where === 'metadata') return i18n.t('engine.namesTooLong')
  return i18n.t('newText.checkOptions', { message: issue?.message ?? 'invalid input' })
}
