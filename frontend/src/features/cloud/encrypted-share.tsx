import { Field, Input, Label } from '@headlessui/react'
import { MetadataError, ShareKey, openMetadata, parseKeyToken, plainSizeOf, type ShareManifest } from '@sharesync/crypto'
import { zipEntryNames, zipFileName, type ShareMetadata } from '@sharesync/protocol'
import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react'
import { useTranslation } from 'react-i18next'
import { useLocation } from 'react-router-dom'
import { Alert } from '../../components/alert'
import { Button } from '../../components/button'
import { Card } from '../../components/card'
import { usePageTitle } from '../../components/page-title'
import { ApiError, errorMessage } from '../../lib/api'
import { safeStorage } from '../../lib/features'
import { formatBytes, formatDateTime, formatExpiry, formatWait } from '../../lib/format'
import { cloudApi } from './cloud-api'
import { savedLease, saveLease } from './download-lease'
import { DirectLine } from '../link/direct-line'
import { directFirst, type DirectOutcome } from '../link/direct-first'
import { useLinkReceiver } from '../link/use-link'
import { FileTree } from '../sharing/file-tree'
import { Note } from '../sharing/note'
import { TextShare } from '../sharing/text-share'
import { downloadDecrypted, DownloadFailed, downloadInServiceWorker } from './encryption/decrypt-download'
import { zipDecrypted, zipSize } from './encryption/decrypt-zip'
import {
  clearOldSaved,
  FORCED_SAVE_KEY,
  MEMORY_LIMIT,
  openSave,
  saveCapabilities,
  saveKind,
  type ForcedSave,
  type SaveSink,
} from './encryption/save-file'
import { LinkGone } from './link-gone'

type State =
  | { kind: 'no-key' }
  | { kind: 'password'; error: string | null; busy: boolean }
  | { kind: 'opening' }
  | { kind: 'wrong-key'; message: string }
  | { kind: 'gone' }
  | { kind: 'open'; meta: ShareMetadata; key: ShareKey; manifest: ShareManifest }

type FileState = { status: 'idle' } | { status: 'working'; done: number } | { status: 'saved' } | { status: 'failed'; message: string }

const forcedSave = (): ForcedSave | undefined => {
  const v = safeStorage.get(FORCED_SAVE_KEY)
  return v === 'download' || v === 'opfs' || v === 'memory' ? v : undefined
}

/**
 * The share page of an end-to-end encrypted link: the key comes from the link's fragment (never sent
 * to the server), and the password when the link needs one; names, types and contents are decrypted
 * in this browser. A wrong key or password, or a changed byte, says so and offers no file.
 */
export function EncryptedShare({ id, initial }: { id: string; initial: ShareMetadata }) {
  const { t } = useTranslation()
  const { hash } = useLocation()
  const token = useMemo(() => parseKeyToken(hash), [hash])
  const needsPassword = token !== null && (token.password || initial.passwordRequired)
  const [state, setState] = useState<State>(() =>
    !token ? { kind: 'no-key' } : needsPassword ? { kind: 'password', error: null, busy: false } : { kind: 'opening' },
  )
  const [password, setPassword] = useState('')
  const [files, setFiles] = useState<FileState[]>([])
  const [all, setAll] = useState<FileState>({ status: 'idle' })
  const busyFile = useRef(false)
  // A limited share: every file of this visitor's download goes under one lease (one download counted).
  const [lease, setLease] = useState<string | null>(() => savedLease(id))
  // A link its sender's page also serves: the same plaintext directly, else the ciphertext copy.
  const access = state.kind === 'open' ? (state.key.accessToken ?? undefined) : undefined
  const direct = state.kind === 'open' ? (state.meta.direct ?? null) : null
  const { receiver, view: directView } = useLinkReceiver(id, access, direct, () => cloudApi.getShare(id, access).then((m) => m.direct))
  /** A direct attempt first: true when it settled the download (received, or an answer to show). */
  const tryDirect = async (files: string[] | undefined, show: (message: string) => void): Promise<{ settled: boolean; lease?: string }> => {
    if (!receiver) return { settled: false }
    const outcome: DirectOutcome = await directFirst(receiver, files, lease ?? undefined)
    const took = outcome.kind === 'done' || outcome.kind === 'cloud' ? outcome.lease : undefined
    if (took && took !== lease) {
      setLease(took)
      saveLease(id, took)
      const dec = (n: number | null | undefined) => (typeof n === 'number' ? Math.max(0, n - 1) : n)
      setState((s) =>
        s.kind !== 'open'
          ? s
          : { ...s, meta: { ...s.meta, downloadsLeft: dec(s.meta.downloadsLeft), files: s.meta.files!.map((x) => ({ ...x, downloadsLeft: dec(x.downloadsLeft) ?? null })) } },
      )
    }
    if (outcome.kind === 'done') return { settled: true }
    if (outcome.kind === 'cloud') return { settled: false, ...(took ? { lease: took } : {}) }
    if (outcome.kind === 'offline') show(t('link.pathOffline'))
    else if (outcome.code === 'share_not_found') setState({ kind: 'gone' })
    else if (outcome.code === 'download_in_progress') show(outcome.retryAfter ? t('share.busyIn', { when: formatWait(outcome.retryAfter) }) : t('share.busy'))
    else show(outcome.message)
    return { settled: true }
  }
  usePageTitle(state.kind === 'open' ? t('share.download') : state.kind === 'password' ? t('share.passwordRequired') : '')

  /** Opens the envelope with `key`: the names, or a clear "wrong key". */
  const open = async (key: ShareKey, meta: ShareMetadata, wrongKey: string) => {
    if (!meta.files || !meta.metadata) return setState({ kind: 'wrong-key', message: wrongKey })
    try {
      const manifest = await openMetadata(key, meta.metadata)
      if (manifest.files.length !== meta.files.length) {
        return setState({
          kind: 'wrong-key',
          message: t('encrypted.otherFiles'),
        })
      }
      setFiles(meta.files.map(() => ({ status: 'idle' })))
      setState({ kind: 'open', meta, key, manifest })
    } catch (err) {
      setState({ kind: 'wrong-key', message: err instanceof MetadataError && err.kind === 'wrong_key' ? wrongKey : errorMessage(err) })
    }
  }

  useEffect(() => {
    void clearOldSaved()
  }, [])

  useEffect(() => {
    if (!token || needsPassword) return
    let live = true
    void ShareKey.derive(token.secret, null).then((key) => {
      if (live)
        return open(
          key,
          initial,
          t('encrypted.wrongKey'),
        )
    })
    return () => {
      live = false
    }
    // The link and the first answer decide; later renders change neither.
  }, [])

  const unlock = async (e: FormEvent) => {
    e.preventDefault()
    if (!token || !password) return
    setState({ kind: 'password', error: null, busy: true })
    try {
      // Argon2id: deliberately slow (about a second), so that guessing is too.
      const key = await ShareKey.derive(token.secret, password)
      const meta = await cloudApi.getShare(id, key.accessToken ?? undefined)
      if (!meta.files) return setState({ kind: 'password', error: t('share.wrongPassword'), busy: false })
      await open(key, meta, t('encrypted.wrongPasswordOrLink'))
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return setState({ kind: 'gone' })
      const message =
        err instanceof ApiError && err.code === 'password_invalid'
          ? t('encrypted.wrongPasswordTryAgain')
          : err instanceof ApiError && err.status === 429
            ? err.retryAfter
              ? t('share.tooManyAttemptsIn', { when: formatWait(err.retryAfter) })
              : t('share.tooManyAttempts')
            : errorMessage(err)
      setState({ kind: 'password', error: message, busy: false })
    }
  }

  const setFile = (i: number, s: FileState) => setFiles((all) => all.map((f, j) => (j === i ? s : f)))

  const download = async (i: number) => {
    if (state.kind !== 'open' || busyFile.current) return
    const { meta, key, manifest } = state
    const file = meta.files![i]!
    const info = manifest.files[i]!
    const plainSize = plainSizeOf(file.size)
    if (plainSize === null)
      return setFile(i, {
        status: 'failed',
        message: t('encrypted.badSizeOne'),
      })
    const where = saveKind(saveCapabilities(), plainSize, forcedSave())
    if (where === 'too_large') {
      return setFile(i, {
        status: 'failed',
        message: t('encrypted.memoryLimitOne', { size: formatBytes(MEMORY_LIMIT) }),
      })
    }
    busyFile.current = true
    setFile(i, { status: 'working', done: 0 })
    let failedDirect = false
    const directly = await tryDirect([file.id], (message) => {
      failedDirect = true
      setFile(i, { status: 'failed', message })
    })
    if (directly.settled) {
      busyFile.current = false
      if (!failedDirect) setFile(i, { status: 'saved' })
      return
    }
    const held = directly.lease ?? lease ?? undefined
    let sink: SaveSink | null = null
    const target = { name: info.name, size: plainSize, type: info.type }
    const scratch = `${id}-${i}-${Date.now().toString(36)}`
    try {
      // The save picker needs the click's user activation: ask before anything else.
      if (where === 'picked') sink = await openSave(target, scratch, where)
      const issued = await cloudApi.requestDownload(id, file.id, key.accessToken ?? undefined, held)
      // Into the browser's downloads: the service worker fetches and decrypts (no page hop).
      if (where !== 'download') sink ??= await openSave(target, scratch, where)
      // A limited share: this visitor now holds one of its downloads (the whole share, every file).
      // Show it without asking the server (a used-up link would answer 404).
      if (issued.lease && issued.lease.token !== held) {
        setLease(issued.lease.token)
        saveLease(id, issued.lease.token)
        const dec = (n: number | null | undefined) => (typeof n === 'number' ? Math.max(0, n - 1) : n)
        setState((s) =>
          s.kind !== 'open'
            ? s
            : {
                ...s,
                meta: {
                  ...s.meta,
                  downloadsLeft: dec(s.meta.downloadsLeft),
                  files: s.meta.files!.map((x) => ({ ...x, downloadsLeft: dec(x.downloadsLeft) ?? null })),
                },
              },
        )
      }
      const onProgress = (done: number) => setFile(i, { status: 'working', done })
      if (sink) await downloadDecrypted({ url: issued.url, key: await key.fileKey(i), encryptedSize: file.size, sink, onProgress })
      else await downloadInServiceWorker({ url: issued.url, ikm: key.ikm, index: i, encryptedSize: file.size, file: target, id: scratch, onProgress })
      setFile(i, { status: 'saved' })
    } catch (err) {
      if (err instanceof DOMException && err.name === 'AbortError' && !sink) return setFile(i, { status: 'idle' })
      await sink?.abort().catch(() => undefined)
      if (err instanceof ApiError && err.status === 404) return setState({ kind: 'gone' })
      const message =
        err instanceof DownloadFailed
          ? err.message
          : err instanceof ApiError && err.code === 'download_in_progress'
            ? err.retryAfter
              ? t('share.busyIn', { when: formatWait(err.retryAfter) })
              : t('share.busy')
            : err instanceof ApiError && err.code === 'download_link_used'
              ? t('share.alreadyOne')
              : errorMessage(err)
      setFile(i, { status: 'failed', message })
    } finally {
      busyFile.current = false
    }
  }

  /** "Download all": every file fetched, decrypted and zipped in this browser, under one download (one lease). */
  const downloadAll = async () => {
    if (state.kind !== 'open' || busyFile.current) return
    const { meta, key, manifest } = state
    const served = meta.files!
    const plain = served.map((f) => plainSizeOf(f.size))
    if (plain.some((n) => n === null))
      return setAll({ status: 'failed', message: t('encrypted.badSizeAll') })
    const names = zipEntryNames(manifest.files)
    const createdAt = new Date(meta.createdAt ?? Date.now())
    busyFile.current = true
    setAll({ status: 'working', done: 0 })
    let failedDirect = false
    const directly = await tryDirect(undefined, (message) => {
      failedDirect = true
      setAll({ status: 'failed', message })
    })
    busyFile.current = false
    if (directly.settled) {
      if (!failedDirect) setAll({ status: 'saved' })
      return
    }
    // Every file under this visitor's one lease (the page's, the direct claim's, or the first file's answer).
    let held = directly.lease ?? lease ?? undefined
    const zipFiles = served.map((f, i) => ({
      name: names[i]!,
      size: plain[i]!,
      encryptedSize: f.size,
      lastModified: createdAt,
      key: () => key.fileKey(i),
      url: async () => {
        const issued = await cloudApi.requestDownload(id, f.id, key.accessToken ?? undefined, held)
        if (issued.lease && issued.lease.token !== held) {
          held = issued.lease.token
          setLease(held)
          saveLease(id, held)
          const dec = (n: number | null | undefined) => (typeof n === 'number' ? Math.max(0, n - 1) : n)
          setState((s) =>
            s.kind !== 'open'
              ? s
              : {
                  ...s,
                  meta: {
                    ...s.meta,
                    downloadsLeft: dec(s.meta.downloadsLeft),
                    files: s.meta.files!.map((x) => ({ ...x, downloadsLeft: dec(x.downloadsLeft) ?? null })),
                  },
                },
          )
        }
        return issued.url
      },
    }))
    const size = zipSize(zipFiles)
    const where = saveKind(saveCapabilities(), size, forcedSave())
    if (where === 'too_large') {
      return setAll({
        status: 'failed',
        message: t('encrypted.memoryLimitAll', { size: formatBytes(MEMORY_LIMIT) }),
      })
    }
    busyFile.current = true
    setAll({ status: 'working', done: 0 })
    let sink: SaveSink | null = null
    try {
      const target = { name: zipFileName(id, manifest.files), size, type: 'application/zip' }
      sink = await openSave(target, `${id}-all-${Date.now().toString(36)}`, where)
      await zipDecrypted({ files: zipFiles, sink, onProgress: (done) => setAll({ status: 'working', done }) })
      setAll({ status: 'saved' })
    } catch (err) {
      if (err instanceof DOMException && err.name === 'AbortError' && !sink) return setAll({ status: 'idle' })
      if (err instanceof ApiError && err.status === 404) return setState({ kind: 'gone' })
      setAll({ status: 'failed', message: err instanceof DownloadFailed ? err.message : errorMessage(err) })
    } finally {
      busyFile.current = false
    }
  }

  if (state.kind === 'gone') return <LinkGone />
  if (state.kind === 'no-key') {
    return (
      <Card className="mx-auto max-w-lg space-y-3">
        <h1 className="text-2xl font-bold">{t('encrypted.incomplete')}</h1>
        <Alert tone="error">{t('encrypted.noKey')}</Alert>
      </Card>
    )
  }
  if (state.kind === 'wrong-key') {
    return (
      <Card className="mx-auto max-w-lg space-y-3">
        <h1 className="text-2xl font-bold">{t('encrypted.cannotOpen')}</h1>
        <Alert tone="error">{state.message}</Alert>
      </Card>
    )
  }
  if (state.kind === 'opening') {
    return (
      <Card className="mx-auto max-w-2xl" aria-busy="true">
        <p role="status">{t('text.decrypting')}</p>
      </Card>
    )
  }
  if (state.kind === 'password') {
    return (
      <Card aria-labelledby="locked-heading" className="mx-auto max-w-md space-y-4">
        <h1 id="locked-heading" className="text-2xl font-bold">
          {t('share.passwordRequired')}
        </h1>
        <p className="text-slate-700 dark:text-slate-300">{t('encrypted.protected', { when: formatExpiry(initial.expiresAt) })}</p>
        <form onSubmit={(e) => void unlock(e)} className="space-y-4">
          <Field>
            <Label className="text-sm font-semibold">{t('share.password')}</Label>
            <Input
              type="password"
              name="password"
              autoComplete="current-password"
              autoFocus
              value={password}
              invalid={state.error !== null}
              onChange={(e) => setPassword(e.target.value)}
              className="mt-1 block min-h-11 w-full rounded-xl border border-slate-300 bg-white px-3 text-base text-slate-900 focus:outline-none data-[focus]:outline-2 data-[focus]:outline-indigo-500 data-[invalid]:border-red-600 dark:border-slate-600 dark:bg-slate-800 dark:text-slate-100"
            />
          </Field>
          {state.error && <Alert tone="error">{state.error}</Alert>}
          <Button type="submit" disabled={state.busy || !password} className="w-full">
            {state.busy ? t('share.checking') : t('share.unlock')}
          </Button>
        </form>
      </Card>
    )
  }

  const { meta, manifest, key } = state
  if (meta.kind === 'text') {
    return (
      <TextShare
        encrypted
        meta={meta}
        reveal={async () => {
          const got = await cloudApi.revealText(id, key.accessToken ?? undefined)
          if (!('sealedText' in got)) throw new Error(t('encrypted.textUnencrypted'))
          const sealed = await openMetadata(key, got.sealedText)
          return { text: sealed.text ?? '', ...(manifest.note ? { note: manifest.note } : {}), downloadsLeft: got.downloadsLeft }
        }}
      />
    )
  }
  const sizes = meta.files!.map((f) => plainSizeOf(f.size) ?? f.size)
  const total = sizes.reduce((n, s) => n + s, 0)
  return (
    <Card aria-labelledby="share-heading" className="mx-auto max-w-2xl space-y-5">
      <div className="space-y-1">
        <h1 id="share-heading" className="text-2xl font-bold">
          {t('share.heading', { count: sizes.length })}
        </h1>
        <p className="text-sm text-slate-700 dark:text-slate-300">
          <span data-testid="encrypted-badge" className="font-semibold text-emerald-700 dark:text-emerald-300">
            {t('text.encrypted')}
          </span>
          {' · '}
          {formatBytes(total)} · <span title={formatDateTime(meta.expiresAt)}>{t('common.expires', { when: formatExpiry(meta.expiresAt) })}</span>
          {' · '}
          <span data-testid="downloads-left">
            {meta.downloadsLeft === null || meta.downloadsLeft === undefined
              ? t('share.unlimitedDownloads')
              : lease !== null
                ? t('share.leftAfterYours', { count: meta.downloadsLeft })
                : t('share.left', { count: meta.downloadsLeft })}
          </span>
        </p>
      </div>
      {manifest.note && <Note text={manifest.note} />}
      {directView && <DirectLine view={directView} />}
      {(sizes.length > 1 || manifest.files.some((f) => f.path)) && (
        <div className="space-y-2">
          <div className="flex flex-wrap items-center gap-3">
            <Button
              onClick={() => void downloadAll()}
              disabled={
                all.status === 'working' || files.some((x) => x.status === 'working') || (meta.downloadsLeft === 0 && lease === null)
              }
              className="w-full sm:w-auto"
            >
              {all.status === 'working' ? t('text.decrypting') : t('share.downloadAll')}
            </Button>
            <span className="text-sm text-slate-600 dark:text-slate-400" data-testid="download-all-status">
              {all.status === 'working'
                ? t('encrypted.zipDecrypting', { size: formatBytes(all.done) })
                : all.status === 'saved'
                  ? t('encrypted.zipVerified')
                  : t('encrypted.zipInBrowser')}
            </span>
          </div>
          {all.status === 'failed' && <Alert tone="error">{all.message}</Alert>}
        </div>
      )}
      <FileTree
        label={t('share.sharedFiles')}
        items={manifest.files.map((info, i) => ({ key: meta.files![i]!.id, name: info.name, path: info.path, index: i }))}
        row={({ index: i, name }) => {
          const f = files[i] ?? { status: 'idle' }
          // Used up, unless this visitor holds one of the downloads (then every file is theirs to fetch).
          const exhausted = meta.files![i]!.downloadsLeft === 0 && lease === null
          return (
            <div className="flex flex-col gap-3 p-3 sm:flex-row sm:items-center">
              <div className="min-w-0 flex-1">
                <p className="break-words font-medium" data-testid="file-name">
                  {name}
                </p>
                <p className="text-sm text-slate-600 dark:text-slate-400" data-testid="file-status">
                  {formatBytes(sizes[i]!)}
                  {f.status === 'working' ? ` · ${t('encrypted.decryptingPercent', { percent: Math.floor((f.done / Math.max(1, sizes[i]!)) * 100) })}` : ''}
                  {f.status === 'saved' ? ` · ${t('encrypted.verified')}` : ''}
                </p>
              </div>
              <Button
                onClick={() => void download(i)}
                disabled={f.status === 'working' || exhausted || files.some((x) => x.status === 'working') || all.status === 'working'}
                aria-label={t('share.downloadOf', { name })}
                className="w-full sm:w-auto"
              >
                {f.status === 'working' ? t('text.decrypting') : t('share.download')}
              </Button>
              {f.status === 'failed' && (
                <Alert tone="error" className="w-full sm:basis-full">
                  {f.message}
                </Alert>
              )}
            </div>
          )
        }}
      />
      <p className="text-xs text-slate-600 dark:text-slate-400">
        {t('encrypted.trust')}
      </p>
    </Card>
  )
}
