import { useEffect, useState, type FormEvent, type ReactNode } from 'react'
import { useTranslation } from 'react-i18next'
import { useNavigate, useParams, useSearchParams } from 'react-router-dom'
import { Alert } from '../../components/alert'
import { Button } from '../../components/button'
import { Card } from '../../components/card'
import { CopyButton } from '../../components/copy-button'
import { FilePicker } from '../../components/file-picker'
import { usePageTitle } from '../../components/page-title'
import { ProgressBar } from '../../components/progress-bar'
import { QrCode } from '../../components/qr-code'
import { safeStorage } from '../../lib/features'
import { formatBytes, formatDuration, formatSpeed } from '../../lib/format'
import { useLeaveGuard } from '../../lib/use-leave-guard'
import type { PeerState } from './engine/room-machine'
import type { JoinTarget, SessionOptions, SessionView, TransferView } from './engine/room-session'
import type { RoomSession } from './engine/room-session'
import { BLOB_SINK_LIMIT, canPickLocation, type ForcedSink } from './engine/sinks'
import { isFinal } from './engine/transfer-machine'
import { CompactProgress, compactProgressPadding } from './compact-progress'
import { isIncomingOffer, NotifyButton, OfferDialog, OfferedFiles, useIncomingOffer, useOfferNotification } from './offer-dialog'
import { RoomFilesPanel } from './room-files-panel'
import { makeThumbnails } from './thumbnails'
import { useRoomSession } from './use-room-session'

const NAME_KEY = 'sharesync.p2p.name'
/** Diagnostics: force where received files go ('opfs' | 'download' | 'blob'). */
const SINK_KEY = 'sharesync.p2p.sink'
/** Diagnostics (and the tests' way to interrupt a transfer mid-way): bytes per second. */
const SEND_RATE_KEY = 'sharesync.p2p.sendRate'
const SINK_RATE_KEY = 'sharesync.p2p.sinkRate'
/** '1': this device does not show itself to nearby devices */
const HIDDEN_KEY = 'sharesync.p2p.hidden'
const NEARBY: JoinTarget = { nearby: true }

/**
 * P2P rooms: `/p2p` to create or join by code, `/r/:secret` to join by link or QR. The bytes go
 * browser to browser; the server only introduces the devices.
 */
export function RoomPage() {
  const { t } = useTranslation()
  const { secret } = useParams()
  const [params] = useSearchParams()
  const [target, setTarget] = useState<JoinTarget | null>(() => (secret ? { secret } : null))
  const [name, setName] = useState(() => safeStorage.get(NAME_KEY) ?? '')
  const active = secret ? { secret } : target
  const { session, view } = useRoomSession(active, sessionOptions(name))
  // In the lobby, this page is also in its network's nearby group: devices appear without a code.
  const [hidden, setHidden] = useState(() => safeStorage.get(HIDDEN_KEY) === '1')
  const nearby = useRoomSession(active ? null : NEARBY, { ...sessionOptions(name), hidden })
  const navigate = useNavigate()
  const transfers = [...view.transfers, ...nearby.view.transfers]
  // An offer waiting for an answer shows in the tab's title too, for a person on another tab.
  const offers = transfers.filter(isIncomingOffer).length
  usePageTitle(offers > 0 ? `(${offers}) ${t('room.incomingFiles')}` : view.room ? t('room.roomCodeTitle', { code: view.room.code }) : t('room.p2pRoom'))
  useLeaveGuard(transfers.some((x) => x.phase === 'active' || x.phase === 'finishing'))
  const roomSecret = view.room?.secret
  useEffect(() => {
    // The address bar shows the room's own link, so that a reload comes back into the room (and its
    // interrupted transfers resume). Not a router navigation: that would leave and re-enter.
    if (roomSecret && window.location.pathname !== `/r/${roomSecret}`) window.history.replaceState(window.history.state, '', `/r/${roomSecret}`)
  }, [roomSecret])

  if (!active) {
    return (
      <Lobby
        name={name}
        initialCode={params.get('code') ?? ''}
        onName={(n) => {
          setName(n)
          safeStorage.set(NAME_KEY, n)
        }}
        onEnter={setTarget}
      >
        {nearby.session && (
          <NearbyPanel
            session={nearby.session}
            view={nearby.view}
            hidden={hidden}
            onHidden={(h) => {
              setHidden(h)
              safeStorage.set(HIDDEN_KEY, h ? '1' : '0')
              nearby.session?.setHidden(h)
            }}
          />
        )}
      </Lobby>
    )
  }
  if (view.phase === 'error') {
    return (
      <div className="space-y-4">
        <h1 className="text-2xl font-semibold">{t('room.p2pRoom')}</h1>
        <Alert tone="error">{view.error}</Alert>
        <Button
          variant="secondary"
          onClick={() => {
            setTarget(null)
            void navigate('/p2p')
          }}
        >
          {t('room.back')}
        </Button>
      </div>
    )
  }
  if (view.phase === 'left') {
    return (
      <div className="space-y-4">
        <h1 className="text-2xl font-semibold">{t('room.youLeft')}</h1>
        <Button onClick={() => void navigate(0)}>{t('room.rejoin')}</Button>
      </div>
    )
  }
  if (!session || !view.room) {
    return (
      <p role="status" className="text-slate-600 dark:text-slate-300">
        {t('room.entering')}
      </p>
    )
  }
  return (
    <RoomView
      session={session}
      view={view}
      onLeave={() => {
        session.leave()
        setTarget(null)
        void navigate('/p2p')
      }}
    />
  )
}

function sessionOptions(name: string): SessionOptions {
  const v = safeStorage.get(SINK_KEY)
  const forceSink: ForcedSink | undefined = v === 'opfs' || v === 'download' || v === 'blob' ? v : undefined
  const rate = (key: string) => {
    const n = Number(safeStorage.get(key) ?? 0)
    return Number.isFinite(n) && n > 0 ? n : 0
  }
  return { name, forceSink, sendBytesPerSecond: rate(SEND_RATE_KEY), sinkBytesPerSecond: rate(SINK_RATE_KEY) }
}

function Lobby({ name, initialCode, onName, onEnter, children }: { name: string; initialCode: string; onName(n: string): void; onEnter(t: JoinTarget): void; children?: ReactNode }) {
  const { t } = useTranslation()
  const [code, setCode] = useState(initialCode)
  const join = (e: FormEvent) => {
    e.preventDefault()
    if (code.trim()) onEnter({ code: code.trim() })
  }
  return (
    <div className="space-y-6">
      <div>
        <h1 className="text-2xl font-semibold">{t('room.lobbyHeading')}</h1>
        <p className="mt-1 text-slate-600 dark:text-slate-300">{t('room.lobbyIntro')}</p>
      </div>
      <Card className="space-y-3">
        <label className="block text-sm font-medium" htmlFor="p2p-name">
          {t('room.deviceName')}
        </label>
        <input
          id="p2p-name"
          value={name}
          maxLength={64}
          placeholder={t('room.deviceNamePlaceholder')}
          onChange={(e) => onName(e.currentTarget.value)}
          className="min-h-11 w-full rounded-xl border border-slate-300 bg-white px-3 dark:border-slate-600 dark:bg-slate-800"
        />
      </Card>
      {children}
      <div className="grid gap-4 sm:grid-cols-2">
        <Card className="space-y-3">
          <h2 className="text-lg font-semibold">{t('room.start')}</h2>
          <p className="text-sm text-slate-600 dark:text-slate-300">{t('room.startText')}</p>
          <Button onClick={() => onEnter({ create: true })}>{t('room.create')}</Button>
        </Card>
        <Card>
          <form className="space-y-3" onSubmit={join}>
            <h2 className="text-lg font-semibold">{t('room.join')}</h2>
            <label className="block text-sm font-medium" htmlFor="p2p-code">
              {t('room.code')}
            </label>
            <input
              id="p2p-code"
              value={code}
              autoCapitalize="characters"
              autoComplete="off"
              spellCheck={false}
              maxLength={12}
              placeholder="ABC234"
              onChange={(e) => setCode(e.currentTarget.value)}
              className="min-h-11 w-full rounded-xl border border-slate-300 bg-white px-3 font-mono text-lg uppercase tracking-widest dark:border-slate-600 dark:bg-slate-800"
            />
            <Button type="submit" disabled={!code.trim()}>
              {t('room.joinButton')}
            </Button>
          </form>
        </Card>
      </div>
    </div>
  )
}

function RoomView({ session, view, onLeave }: { session: RoomSession; view: SessionView; onLeave(): void }) {
  const { t } = useTranslation()
  const room = view.room!
  const [files, setFiles] = useState<File[]>([])
  const [recipient, setRecipient] = useState('all')
  const connected = view.peers.filter((p) => p.link === 'connected')
  const { offer, setAside } = useIncomingOffer(view.transfers)
  useOfferNotification(offer)
  const send = () => {
    const to = recipient === 'all' ? connected.map((p) => p.peerId) : [recipient]
    if (!files.length || !to.length) return
    sendWithThumbnails(session, files, to)
    setFiles([])
  }
  return (
    <div className={`space-y-6 ${compactProgressPadding(view.transfers)}`}>
      <CompactProgress transfers={view.transfers} />
      {offer && (
        <OfferDialog key={offer.id} offer={offer} onClose={() => setAside(offer.id)}>
          <TransferCard t={offer} session={session} />
        </OfferDialog>
      )}
      <h1 className="text-2xl font-semibold">{t('room.roomCodeTitle', { code: room.code })}</h1>
      {!view.serverConnected && <Alert tone="warning">{t('room.reconnecting')}</Alert>}
      {view.serverConnected && view.error && <Alert tone="error">{view.error}</Alert>}
      <Card className="flex flex-col gap-4 sm:flex-row sm:items-center">
        <QrCode text={room.link} size={160} label={t('room.qr')} />
        <div className="space-y-2">
          <p className="text-sm text-slate-600 dark:text-slate-300">{t('room.code')}</p>
          <p className="font-mono text-3xl font-bold tracking-[0.3em]" data-testid="room-code">
            {room.code}
          </p>
          <p className="break-all text-xs text-slate-600 dark:text-slate-400" data-testid="room-link">
            {room.link}
          </p>
          <div className="flex flex-wrap gap-2">
            <CopyButton text={room.link} label={t('copy.copyLink')} variant="secondary" />
            <Button variant="ghost" onClick={onLeave}>
              {t('room.leave')}
            </Button>
          </div>
        </div>
      </Card>

      <Card className="space-y-3">
        <h2 className="text-lg font-semibold">{t('room.inThisRoom')}</h2>
        <ul className="space-y-2" aria-label={t('room.devicesInRoom')}>
          <li className="text-sm">
            <span className="font-medium">{view.self?.name}</span>{' '}
            <span className="text-slate-600 dark:text-slate-300">({t('room.thisDevice')}{view.self && view.self.device !== view.self.name ? ` · ${view.self.device}` : ''})</span>
          </li>
          {view.peers.map((p) => (
            <PeerRow key={p.peerId} peer={p} />
          ))}
        </ul>
        {view.peers.length === 0 && <p className="text-sm text-slate-600 dark:text-slate-300">{t('room.waiting')}</p>}
        <NotifyButton />
        {view.peers.some((p) => p.link === 'failed') && <Alert tone="error">{view.relayOff ? t('room.relayOffHint') : t('room.turnHint')}</Alert>}
      </Card>

      <Card className="space-y-3">
        <h2 className="text-lg font-semibold">{t('room.sendFiles')}</h2>
        <div className="flex flex-wrap items-center gap-2">
          <FilePicker onFiles={setFiles} testId="p2p-file-input" variant="secondary">
            {t('common.chooseFiles')}
          </FilePicker>
          <label className="text-sm" htmlFor="p2p-recipient">
            {t('room.to')}
          </label>
          <select
            id="p2p-recipient"
            data-testid="recipient"
            value={recipient}
            onChange={(e) => setRecipient(e.currentTarget.value)}
            className="min-h-11 rounded-xl border border-slate-300 bg-white px-3 dark:border-slate-600 dark:bg-slate-800"
          >
            <option value="all">{t('room.everyone', { count: connected.length })}</option>
            {connected.map((p) => (
              <option key={p.peerId} value={p.peerId}>
                {p.name}
              </option>
            ))}
          </select>
          <Button onClick={send} disabled={!files.length || connected.length === 0 || (recipient !== 'all' && !connected.some((p) => p.peerId === recipient))}>
            {t('room.send')}
          </Button>
        </div>
        {files.length > 0 && (
          <p className="text-sm text-slate-600 dark:text-slate-300" data-testid="selected-files">
            {files.length === 1 ? files[0]!.name : t('common.fileCount', { count: files.length })} · {formatBytes(files.reduce((s, f) => s + f.size, 0))}
          </p>
        )}
      </Card>

      {session.files && <RoomFilesPanel port={session.files} roomId={room.id} selfId={view.self?.peerId} />}

      {view.transfers.some((x) => x !== offer) && (
        <section className="space-y-3" aria-label={t('room.transfers')}>
          <h2 className="text-lg font-semibold">{t('room.transfers')}</h2>
          {view.transfers.filter((x) => x !== offer).reverse().map((x) => (
            <TransferCard key={x.id} t={x} session={session} />
          ))}
        </section>
      )}
    </div>
  )
}

/**
 * Devices on the same network with this page open, as tiles (no code needed): tap one, pick files,
 * and they are offered to it. A device can hide itself.
 */
function NearbyPanel({ session, view, hidden, onHidden }: { session: RoomSession; view: SessionView; hidden: boolean; onHidden(h: boolean): void }) {
  const { t } = useTranslation()
  const { offer, setAside } = useIncomingOffer(view.transfers)
  useOfferNotification(offer)
  return (
    <Card className={`space-y-3 ${compactProgressPadding(view.transfers)}`} data-testid="nearby-panel" data-state={hidden ? 'hidden' : view.nearbyState}>
      <CompactProgress transfers={view.transfers} />
      {offer && (
        <OfferDialog key={offer.id} offer={offer} onClose={() => setAside(offer.id)}>
          <TransferCard t={offer} session={session} />
        </OfferDialog>
      )}
      <h2 className="text-lg font-semibold">{t('room.nearby')}</h2>
      <p className="text-sm text-slate-600 dark:text-slate-300">
        {hidden
          ? t('room.nearbyHidden')
          : view.nearbyState === 'off'
            ? t('room.nearbyOff')
            : view.peers.length === 0
              ? t('room.nearbyEmpty')
              : t('room.nearbyTap')}
      </p>
      {!hidden && view.peers.length > 0 && (
        <ul className="grid grid-cols-2 gap-3 sm:grid-cols-4" aria-label={t('room.nearbyDevices')}>
          {view.peers.map((p) => (
            <li key={p.peerId} data-testid="nearby-device" data-link={p.link}>
              <FilePicker onFiles={(files) => sendWithThumbnails(session, files, [p.peerId])} testId="nearby-file-input" variant="secondary" className="flex h-full w-full flex-col items-center gap-1 py-4">
                <span aria-hidden="true" className="flex h-12 w-12 items-center justify-center rounded-full bg-indigo-100 text-lg font-semibold text-indigo-900 dark:bg-indigo-900 dark:text-indigo-100">
                  {initials(p.name)}
                </span>
                <span className="font-medium">{p.name}</span>
                {p.device && p.device !== p.name && <span className="text-xs text-slate-600 dark:text-slate-300">{p.device}</span>}
                <span className="text-xs text-slate-600 dark:text-slate-300">{p.link === 'connected' ? t('room.tapToSend') : p.link === 'failed' ? t('room.cannotConnect') : t('room.connecting')}</span>
              </FilePicker>
            </li>
          ))}
        </ul>
      )}
      <label className="flex items-center gap-2 text-sm">
        <input type="checkbox" checked={hidden} onChange={(e) => onHidden(e.currentTarget.checked)} className="h-4 w-4" />
        {t('room.hideDevice')}
      </label>
      {view.transfers.some((x) => x !== offer) && (
        <section className="space-y-3" aria-label={t('room.nearbyTransfers')}>
          {view.transfers.filter((x) => x !== offer).reverse().map((x) => (
            <TransferCard key={x.id} t={x} session={session} />
          ))}
        </section>
      )}
    </Card>
  )
}

/** The offer goes out once the pictures' thumbnails are made (a few milliseconds each). */
function sendWithThumbnails(session: RoomSession, files: File[], to: string[]): void {
  void makeThumbnails(files).then((thumbs) => session.sendFiles(files, to, thumbs))
}

function initials(name: string): string {
  return (
    name
      .split(/\s+/)
      .filter(Boolean)
      .slice(0, 2)
      .map((w) => w[0]!.toUpperCase())
      .join('') || '?'
  )
}

function PeerRow({ peer }: { peer: PeerState }) {
  const { t } = useTranslation()
  const badge =
    peer.link === 'connected'
      ? t(`room.path.${peer.path ?? 'direct'}`)
      : peer.link === 'failed'
        ? t('room.noDirect')
        : peer.link === 'reconnecting'
          ? t('room.reconnectingPeer')
          : peer.link === 'closed'
            ? t('room.gone')
            : t('room.connecting')
  return (
    <li className="flex items-center gap-2 text-sm" data-testid="peer" data-link={peer.link}>
      <span className="font-medium">{peer.name}</span>
      {peer.device && peer.device !== peer.name && <span className="text-slate-500">{peer.device}</span>}
      <span data-testid="peer-path" data-path={peer.link === 'connected' ? (peer.path ?? 'direct') : ''} className={`ml-auto rounded-full px-2 py-0.5 text-xs ${peer.link === 'connected' ? 'bg-emerald-100 text-emerald-900 dark:bg-emerald-900 dark:text-emerald-100' : peer.link === 'failed' ? 'bg-red-100 text-red-900 dark:bg-red-900 dark:text-red-100' : 'bg-slate-100 text-slate-700 dark:bg-slate-800 dark:text-slate-200'}`}>
        {badge}
      </span>
    </li>
  )
}

// Words of a transfer's path and phase: keys `room.path.*` and `room.phase.*`.
function TransferCard({ t, session }: { t: TransferView; session: RoomSession }) {
  const { i18n } = useTranslation()
  const total = t.progress.total
  const pct = total > 0 ? (t.progress.bytes / total) * 100 : t.phase === 'completed' ? 100 : 0
  const title = t.direction === 'send' ? i18n.t('room.toPeer', { name: t.peerName }) : i18n.t('room.fromPeer', { name: t.peerName })
  const running = t.phase === 'active' || t.phase === 'finishing'
  const stoppable = !isFinal(t.phase) && t.phase !== 'offered' && t.phase !== 'picking'
  const names = t.files.length === 1 ? t.files[0]!.name : i18n.t('common.fileCount', { count: t.files.length })
  // Received files kept by this page (not already in the downloads or a picked folder).
  const savable = t.received.filter((f) => f.verified && f.url)
  return (
    <Card className="space-y-3" data-testid="transfer" data-direction={t.direction} data-phase={t.phase}>
      <div className="flex flex-wrap items-baseline gap-x-2">
        <h3 className="font-semibold">{title}</h3>
        <span className="text-sm text-slate-600 dark:text-slate-300">
          {names} · {formatBytes(total)} · <span data-testid="transfer-phase">{i18n.t(`room.phase.${t.phase}`)}</span>
          {running && t.path && (
            <span data-testid="transfer-path" data-path={t.path}>
              {' '}
              · {i18n.t(`room.path.${t.path}`)}
            </span>
          )}
        </span>
      </div>
      {t.phase !== 'offered' && t.phase !== 'picking' && t.phase !== 'declined' && (
        <>
          <ProgressBar value={pct} label={i18n.t('room.progressOf', { title })} />
          <p className="text-sm tabular-nums text-slate-700 dark:text-slate-200" data-testid="transfer-stats">
            <span data-testid="transfer-percent">{Math.floor(pct)} %</span>
            {running && t.progress.speed > 0 && (
              <>
                {' '}
                · {formatSpeed(t.progress.speed)} · {Number.isFinite(t.progress.eta) ? i18n.t('room.left', { duration: formatDuration(t.progress.eta) }) : '…'}
              </>
            )}
          </p>
        </>
      )}
      {t.phase === 'offered' && <OfferedFiles files={t.files} />}
      {t.message && <Alert tone={t.phase === 'failed' ? 'error' : 'info'}>{t.message}</Alert>}
      {t.phase === 'offered' && t.memoryWarning && <MemoryWarning files={t.files} />}
      <div className="flex flex-wrap gap-2">
        {t.phase === 'offered' && (
          <>
            <Button onClick={() => void session.accept(t.id)}>{i18n.t('room.accept')}</Button>
            {canPickLocation() && (
              <Button variant="secondary" onClick={() => void session.accept(t.id, { pickLocation: true })}>
                {i18n.t('room.saveToFolder')}
              </Button>
            )}
            <Button variant="ghost" onClick={() => session.decline(t.id)}>
              {i18n.t('room.decline')}
            </Button>
          </>
        )}
        {t.phase === 'interrupted' && t.needsFiles && (
          <FilePicker onFiles={(files) => session.resumeWith(t.id, files)} testId="resume-file-input" variant="primary">
            {i18n.t('room.chooseAgain')}
          </FilePicker>
        )}
        {stoppable && (
          <Button variant="danger" onClick={() => session.cancel(t.id)}>
            {i18n.t('common.cancel')}
          </Button>
        )}
      </div>
      {savable.length > 1 && (
        <Button variant="secondary" onClick={() => saveAll(savable)}>
          {i18n.t('room.saveAll', { count: savable.length })}
        </Button>
      )}
      {t.received.length > 0 && (
        <ul className="space-y-1" aria-label={i18n.t('room.received')}>
          {t.received.map((f, i) => (
            <li key={i} className="flex flex-wrap items-center gap-2 text-sm" data-testid="received-file">
              {f.verified ? (
                <span className="rounded-full bg-emerald-100 px-2 py-0.5 text-xs text-emerald-900 dark:bg-emerald-900 dark:text-emerald-100" data-testid="verified">
                  {i18n.t('room.verified')}
                </span>
              ) : (
                <span className="rounded-full bg-red-100 px-2 py-0.5 text-xs text-red-900">{i18n.t('room.damaged')}</span>
              )}
              <span className="break-all">{f.name}</span>
              {f.verified && f.url && (
                <a href={f.url} download={f.name} className="font-semibold text-indigo-700 underline dark:text-indigo-300">
                  {i18n.t('room.save')}
                </a>
              )}
              {f.verified && f.sink === 'picked' && <span className="text-slate-500">{i18n.t('room.savedFolder')}</span>}
              {f.verified && f.sink === 'download' && <span className="text-slate-500">{i18n.t('room.savedDownloads')}</span>}
            </li>
          ))}
        </ul>
      )}
    </Card>
  )
}

/**
 * Saves each file as its own download, one after the other (a browser may ask once whether this
 * site may download several files). Nothing is copied: each download reads the file this page holds.
 */
function saveAll(files: { name: string; url: string }[]): void {
  files.forEach((f, i) => {
    setTimeout(() => {
      const a = document.createElement('a')
      a.href = f.url
      a.download = f.name
      document.body.append(a)
      a.click()
      a.remove()
    }, i * 250)
  })
}

/**
 * This page is plain http (no OPFS, no streamed downloads): received files are held in memory until
 * saved, which a file over the limit may not survive. What works instead is a cloud link: the
 * sender uploads it, and this browser downloads it straight to storage.
 */
function MemoryWarning({ files }: { files: TransferView['files'] }) {
  const { t } = useTranslation()
  const big = files.filter((f) => f.size > BLOB_SINK_LIMIT)
  const what = big.length === 1 ? t('room.bigFile', { name: big[0]!.name, size: formatBytes(big[0]!.size) }) : t('room.bigFiles', { count: big.length })
  return (
    <Alert tone="warning">
      <span data-testid="memory-warning">{t('room.memoryWarning', { limit: formatBytes(BLOB_SINK_LIMIT), what })}</span>
    </Alert>
  )
}
