import type { RoomFile } from '@sharesync/protocol'
import { useEffect, useRef, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { Alert } from '../../components/alert'
import { Button } from '../../components/button'
import { Card } from '../../components/card'
import { FilePicker } from '../../components/file-picker'
import { ProgressBar } from '../../components/progress-bar'
import { formatBytes, formatDateTime, formatExpiry } from '../../lib/format'
import { i18n } from '../../i18n'
import { isCancelled, UploadEngine } from '../cloud/upload-engine'
import type { RoomFilesPort } from './engine/ports'

/** A file this device is leaving in the room: its upload's progress. */
interface Leaving {
  key: string
  name: string
  percent: number
  error?: string
}

/**
 * The room's stored files: "Leave in this room" uploads a file to the server for the room's
 * lifetime (through the share upload engine); everyone in the room, also those who come later,
 * sees it and downloads it with a short-lived link; the one who left it can remove it.
 */
export function RoomFilesPanel({ port, roomId, selfId }: { port: RoomFilesPort; roomId: string; selfId: string | undefined }) {
  const { t } = useTranslation()
  const { files, error, setError } = useRoomFiles(port, roomId)
  const [leaving, setLeaving] = useState<Leaving[]>([])
  const engines = useRef(new Set<UploadEngine>())
  useEffect(() => {
    const running = engines.current
    return () => {
      for (const e of running) e.cancel()
    }
  }, [])

  const update = (key: string, patch: Partial<Leaving>) => setLeaving((all) => all.map((l) => (l.key === key ? { ...l, ...patch } : l)))
  const leaveOne = async (file: File) => {
    const key = `${file.name}:${file.size}:${Math.random()}`
    setLeaving((all) => [...all, { key, name: file.name, percent: 0 }])
    const asked = await port.leave({ name: file.name, size: file.size, type: file.type || 'application/octet-stream' })
    if (!asked.ok) return update(key, { error: ackMessage(asked.error) })
    const { upload } = asked
    const engine = new UploadEngine({
      shareId: upload.id,
      ownerToken: upload.ownerToken,
      names: [file.name],
      files: [{ fileId: upload.file.id, size: file.size, partSize: upload.file.partSize, partCount: upload.file.partCount, file }],
      onProgress: (snap) => update(key, { percent: snap.percent }),
    })
    engines.current.add(engine)
    try {
      await engine.run()
    } catch (err) {
      if (!isCancelled(err)) update(key, { error: err instanceof Error ? err.message : t('roomFiles.failed') })
      return
    } finally {
      engines.current.delete(engine)
    }
    const ready = await port.ready(upload.id)
    if (!ready.ok) return update(key, { error: ackMessage(ready.error) })
    setLeaving((all) => all.filter((l) => l.key !== key))
  }

  const download = async (file: RoomFile) => {
    const res = await port.url(file.id)
    if (!res.ok) return setError(ackMessage(res.error))
    // The link is good for a minute: it is used at once, as an attachment (never shown on this origin).
    const a = document.createElement('a')
    a.href = res.url
    a.download = file.name
    a.rel = 'noopener'
    document.body.append(a)
    a.click()
    a.remove()
  }
  const remove = async (file: RoomFile) => {
    const res = await port.remove(file.id)
    if (!res.ok) setError(ackMessage(res.error))
  }

  return (
    <Card className="space-y-3" aria-labelledby="room-files-title">
      <h2 id="room-files-title" className="text-lg font-semibold">
        {t('roomFiles.title')}
      </h2>
      <p className="text-sm text-slate-600 dark:text-slate-300">{t('roomFiles.intro')}</p>
      <FilePicker onFiles={(picked) => picked.forEach((f) => void leaveOne(f))} testId="room-leave-input" variant="secondary">
        {t('roomFiles.leave')}
      </FilePicker>
      {error && <Alert tone="error">{error}</Alert>}
      {leaving.map((l) => (
        <div key={l.key} className="space-y-1" data-testid="room-file-leaving">
          <p className="text-sm">
            {t('roomFiles.leaving', { name: l.name })} {l.error ? '' : `${l.percent} %`}
          </p>
          {l.error ? <Alert tone="error">{l.error}</Alert> : <ProgressBar value={l.percent} label={t('roomFiles.uploading', { name: l.name })} size="sm" />}
        </div>
      ))}
      {files.length === 0 ? (
        <p className="text-sm text-slate-600 dark:text-slate-300">{t('roomFiles.none')}</p>
      ) : (
        <ul className="space-y-2" aria-label={t('roomFiles.list')}>
          {files.map((f) => (
            <li key={f.id} className="flex flex-wrap items-center gap-2" data-testid="room-file">
              <span className="min-w-0 flex-1 break-all">
                <span className="font-medium">{f.name}</span>{' '}
                <span className="text-sm text-slate-600 dark:text-slate-300">
                  · {formatBytes(f.size)} · {f.leftBy.peerId === selfId ? t('roomFiles.leftByYou') : t('roomFiles.leftBy', { name: f.leftBy.name })} ·{' '}
                  <span title={formatDateTime(f.expiresAt)}>{t('roomFiles.deleted', { when: formatExpiry(f.expiresAt) })}</span>
                </span>
              </span>
              <Button variant="secondary" onClick={() => void download(f)}>
                {t('roomFiles.download')}
              </Button>
              {f.leftBy.peerId === selfId && (
                <Button variant="ghost" onClick={() => void remove(f)}>
                  {t('roomFiles.remove')}
                </Button>
              )}
            </li>
          ))}
        </ul>
      )}
    </Card>
  )
}

/** The room's files: listed on every (re)connection, kept current by files:added / files:removed. */
function useRoomFiles(port: RoomFilesPort, roomId: string) {
  const [files, setFiles] = useState<RoomFile[]>([])
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    let live = true
    const load = async () => {
      const res = await port.list()
      if (!live) return
      if (res.ok) setFiles(res.files)
      // Not in the room for a moment (reconnecting): the next connection lists again.
      else if (res.error.code !== 'forbidden') setError(ackMessage(res.error))
    }
    const stop = port.watch({
      added: (file) => setFiles((all) => [...all.filter((f) => f.id !== file.id), file]),
      removed: (id) => setFiles((all) => all.filter((f) => f.id !== id)),
      connected: () => void load(),
    })
    void load()
    // A file past its lifetime is deleted by the server: it leaves the list when it expires.
    const tick = setInterval(() => setFiles((all) => (all.some((f) => Date.parse(f.expiresAt) <= Date.now()) ? all.filter((f) => Date.parse(f.expiresAt) > Date.now()) : all)), 15_000)
    return () => {
      live = false
      stop()
      clearInterval(tick)
    }
  }, [port, roomId])
  return { files, error, setError }
}

/** A server error of an acknowledgement, in the page's language when its code has a message. */
function ackMessage(error: { code: string; message: string }): string {
  const key = `errors.${error.code}`
  return i18n.exists(key) ? i18n.t(key) : error.message
}
