import { CreateShareRequest, MAX_FILES_PER_SHARE, MAX_PASSWORD_LENGTH } from '@sharesync/protocol'
import { useCallback, useEffect, useRef, useState } from 'react'
import { useNavigate } from 'react-router-dom'
import { ApiError, errorMessage } from '../../lib/api'
import { cloudApi } from './cloud-api'
import { ownedLinks, pendingUploads, type PendingUpload } from './upload-records'
import { isCancelled, UploadEngine, type UploadSnapshot } from './upload-engine'

export interface UploadChoice {
  expiresIn?: number
  maxDownloads: number | null
  password: string
}

/**
 * The upload flow of the home page: create the share, remember it (to resume), run the engine,
 * then remember the finished link with its owner token and open its result page.
 */
export function useUpload() {
  const navigate = useNavigate()
  const engine = useRef<UploadEngine | null>(null)
  const current = useRef<{ pending: PendingUpload; files: File[] } | null>(null)
  const [snapshot, setSnapshot] = useState<UploadSnapshot | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  useEffect(() => () => engine.current?.cancel(), [])

  const run = useCallback(
    async (pending: PendingUpload, files: File[]) => {
      current.current = { pending, files }
      setError(null)
      setBusy(true)
      const e = new UploadEngine({
        shareId: pending.shareId,
        ownerToken: pending.ownerToken,
        files: pending.files.map((p, i) => ({ file: files[i]!, fileId: p.fileId, partSize: p.partSize, partCount: p.partCount })),
        // A cancelled engine still reports its last state: the page has moved on, ignore it.
        onProgress: (snap) => {
          if (engine.current === e) setSnapshot(snap)
        },
      })
      engine.current = e
      try {
        await e.run()
        ownedLinks.add({
          id: pending.shareId,
          url: pending.url,
          ownerToken: pending.ownerToken,
          expiresAt: pending.expiresAt,
          maxDownloads: pending.maxDownloads,
          passwordProtected: pending.passwordProtected,
          createdAt: pending.createdAt,
          files: pending.files.map((f) => ({ name: f.name, size: f.size })),
        })
        pendingUploads.clear()
        await navigate(`/links/${encodeURIComponent(pending.shareId)}`)
      } catch (err) {
        if (isCancelled(err)) return
        // The share is gone (expired, deleted, cleaned up): there is nothing left to resume.
        if (err instanceof ApiError && err.status === 404) {
          pendingUploads.clear()
          current.current = null
          setError('This upload can no longer be resumed: its link has expired or was deleted. Please start again.')
          return
        }
        setError(errorMessage(err))
      } finally {
        if (engine.current === e) engine.current = null
        setBusy(false)
      }
    },
    [navigate],
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
        files: files.map((f) => ({ name: f.name, size: f.size, uploaded: 0 })),
      })
      // The server's own schema (from protocol/): a mistake is explained here, before any upload.
      const parsed = CreateShareRequest.safeParse({
        files: files.map((f) => ({ name: f.name, size: f.size, type: (f.type || 'application/octet-stream').slice(0, 255) })),
        expiresIn: choice.expiresIn,
        maxDownloads: choice.maxDownloads,
        password: choice.password || undefined,
      })
      if (!parsed.success) {
        setSnapshot(null)
        setBusy(false)
        setError(describeInvalid(parsed.error.issues[0]))
        return
      }
      try {
        const created = await cloudApi.createShare(parsed.data)
        if (!created.ownerToken) throw new Error('The server did not return an owner token.')
        const pending: PendingUpload = {
          shareId: created.id,
          ownerToken: created.ownerToken,
          url: created.url,
          expiresAt: created.expiresAt,
          maxDownloads: created.maxDownloads,
          passwordProtected: Boolean(choice.password),
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
        pendingUploads.save(pending)
        await run(pending, files)
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
    const c = current.current
    current.current = null
    setSnapshot(null)
    setBusy(false)
    pendingUploads.clear()
    if (c) await cloudApi.deleteShare(c.pending.shareId, c.pending.ownerToken).catch(() => undefined)
  }, [])

  const retry = useCallback(async () => {
    const c = current.current
    if (c) await run(c.pending, c.files)
  }, [run])

  const reset = useCallback(() => {
    current.current = null
    setSnapshot(null)
    setError(null)
  }, [])

  return { snapshot, error, busy, start, resume: run, cancel, retry, reset, hasCurrent: () => current.current !== null }
}

/** A sentence for the first problem the protocol schema found in the chosen files and options. */
function describeInvalid(issue: { path: PropertyKey[]; message: string } | undefined): string {
  const where = issue?.path[0]
  if (where === 'files') {
    return issue?.path.length === 1
      ? `A link holds 1 to ${MAX_FILES_PER_SHARE} files.`
      : `This file cannot be shared as it is: ${issue?.message ?? 'invalid'} (its name may be too long).`
  }
  if (where === 'password') return `The password may be at most ${MAX_PASSWORD_LENGTH} characters.`
  return `Please check the options: ${issue?.message ?? 'invalid input'}.`
}
