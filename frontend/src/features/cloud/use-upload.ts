import { i18n } from '../../i18n'
import type { ShareKey } from '@sharesync/crypto'
import { CreateShareRequest, MAX_FILES_PER_SHARE, MAX_NOTE_LENGTH, MAX_PASSWORD_LENGTH } from '@sharesync/protocol'
import { useCallback, useState } from 'react'
import { useNavigate } from 'react-router-dom'
import { ApiError, errorMessage } from '../../lib/api'
import { folderOfFile } from '../../lib/file-paths'
import { useLeaveGuard } from '../../lib/use-leave-guard'
import { cloudApi } from './cloud-api'
import { keyStore } from './encryption/key-store'
import { sealShare } from './encryption/seal-upload'
import { outbox } from './outbox'
import { ownedLinks, pendingUploads, type PendingUpload } from './upload-records'
import type { UploadSnapshot } from './upload-engine'

export interface UploadChoice {
  expiresIn?: number
  maxDownloads: number | null
  password: string
  /** End-to-end encryption: contents, names and types are encrypted in this browser. */
  encrypted: boolean
  /** keep a copy in the cloud (for the link's lifetime); off: served only while the sender's page is open */
  cloudCopy: boolean
  /** the note to recipients ('' for none); encrypted with the names on an encrypted share */
  note: string
  /** recipients may preview files on the share page */
  previews: boolean
}

/**
 * The upload flow of the home page: create the share (served directly by the sender's page, and
 * with a cloud copy unless the sender chose none), remember the link, and open its result page at
 * once; the cloud copy uploads in the background (outbox.ts) while the result page shows it.
 */
export function useUpload() {
  const navigate = useNavigate()
  const [snapshot, setSnapshot] = useState<UploadSnapshot | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  // busy from sealing the files to the result page
  useLeaveGuard(busy)

  /** The link's result page, where its upload and its direct deliveries show. */
  const open = useCallback(
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
      // The key also rides along in memory, for a browser whose IndexedDB refused to keep it.
      await navigate(`/links/${encodeURIComponent(pending.shareId)}`, { state: fresh ? { token: fresh.token } : null })
    },
    [navigate],
  )

  /**
   * Runs (or resumes) an upload in the background and opens the link's result page. `files[i]` may
   * be null for a file the server already holds complete.
   */
  const run = useCallback(
    async (pending: PendingUpload, files: (File | null)[], fresh?: { key: ShareKey; token: string }) => {
      void outbox.upload(pending, files, fresh?.key)
      await open(pending, fresh)
    },
    [open],
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
          pendingUploads.clear()
          void keyStore.remove(pending.shareId)
          return 'gone'
        }
        return null
      }
      if (state.status === 'finalized') {
        pendingUploads.clear()
        await open(pending)
        return 'resumed'
      }
      const needed = pending.files.flatMap((p, i) => (state.files.find((f) => f.id === p.fileId)?.completed ? [] : [i]))
      if (needed.length > 0) return { needed }
      await run(
        pending,
        pending.files.map(() => null),
      )
      return 'resumed'
    },
    [open, run],
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
        // Served straight from this page while it is open; the cloud copy unless the sender said no.
        const created = await cloudApi.createShare({ ...body.data, direct: true, ...(choice.cloudCopy ? {} : { cloudCopy: false }) })
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
        const fresh = sealed ? { key: sealed.key, token: sealed.token } : undefined
        setBusy(false)
        setSnapshot(null)
        if (!choice.cloudCopy) {
          outbox.hold(
            created.id,
            pending.files.map((p, i) => ({ fileId: p.fileId, file: files[i]! })),
          )
          await open(pending, fresh)
          return
        }
        pendingUploads.save(pending)
        await run(pending, files, fresh)
      } catch (err) {
        setSnapshot(null)
        setBusy(false)
        setError(errorMessage(err))
      }
    },
    [open, run],
  )

  const reset = useCallback(() => {
    setSnapshot(null)
    setError(null)
  }, [])

  return { snapshot, error, busy, start, resume: run, check, reset }
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
