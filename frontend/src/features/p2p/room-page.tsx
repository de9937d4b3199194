import { useEffect, useState, type FormEvent, type ReactNode } from 'react'
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
import { RELAY_OFF_HINT, TURN_HINT, type RoomSession } from './engine/room-session'
import { canPickLocation, type ForcedSink } from './engine/sinks'
import { isFinal } from './engine/transfer-machine'
import { isIncomingOffer, OfferDialog, OfferedFiles, useIncomingOffer } from './offer-dialog'
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
  usePageTitle(offers > 0 ? `(${offers}) Incoming files` : view.room ? `Room ${view.room.code}` : 'P2P room')
  useLeaveGuard(transfers.some((t) => t.phase === 'active' || t.phase === 'finishing'))
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
        <h1 className="text-2xl font-semibold">P2P room</h1>
        <Alert tone="error">{view.error}</Alert>
        <Button
          variant="secondary"
          onClick={() => {
            setTarget(null)
            void navigate('/p2p')
          }}
        >
          Back
        </Button>
      </div>
    )
  }
  if (view.phase === 'left') {
    return (
      <div className="space-y-4">
        <h1 className="text-2xl font-semibold">You left the room</h1>
        <Button onClick={() => void navigate(0)}>Rejoin</Button>
      </div>
    )
  }
  if (!session || !view.room) {
    return (
      <p role="status" className="text-slate-600 dark:text-slate-300">
        Entering the room…
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
  const [code, setCode] = useState(initialCode)
  const join = (e: FormEvent) => {
    e.preventDefault()
    if (code.trim()) onEnter({ code: code.trim() })
  }
  return (
    <div className="space-y-6">
      <div>
        <h1 className="text-2xl font-semibold">Send to a nearby device</h1>
        <p className="mt-1 text-slate-600 dark:text-slate-300">Files go straight from browser to browser. Nothing is stored on the server.</p>
      </div>
      <Card className="space-y-3">
        <label className="block text-sm font-medium" htmlFor="p2p-name">
          This device's name (optional)
        </label>
        <input
          id="p2p-name"
          value={name}
          maxLength={64}
          placeholder="e.g. Anna's laptop"
          onChange={(e) => onName(e.currentTarget.value)}
          className="min-h-11 w-full rounded-xl border border-slate-300 bg-white px-3 dark:border-slate-600 dark:bg-slate-800"
        />
      </Card>
      {children}
      <div className="grid gap-4 sm:grid-cols-2">
        <Card className="space-y-3">
          <h2 className="text-lg font-semibold">Start a room</h2>
          <p className="text-sm text-slate-600 dark:text-slate-300">You get a code, a link and a QR code for the other devices.</p>
          <Button onClick={() => onEnter({ create: true })}>Create a room</Button>
        </Card>
        <Card>
          <form className="space-y-3" onSubmit={join}>
            <h2 className="text-lg font-semibold">Join a room</h2>
            <label className="block text-sm font-medium" htmlFor="p2p-code">
              Room code
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
              Join
            </Button>
          </form>
        </Card>
      </div>
    </div>
  )
}

function RoomView({ session, view, onLeave }: { session: RoomSession; view: SessionView; onLeave(): void }) {
  const room = view.room!
  const [files, setFiles] = useState<File[]>([])
  const [recipient, setRecipient] = useState('all')
  const connected = view.peers.filter((p) => p.link === 'connected')
  const { offer, setAside } = useIncomingOffer(view.transfers)
  const send = () => {
    const to = recipient === 'all' ? connected.map((p) => p.peerId) : [recipient]
    if (!files.length || !to.length) return
    session.sendFiles(files, to)
    setFiles([])
  }
  return (
    <div className="space-y-6">
      {offer && (
        <OfferDialog key={offer.id} offer={offer} onClose={() => setAside(offer.id)}>
          <TransferCard t={offer} session={session} />
        </OfferDialog>
      )}
      <h1 className="text-2xl font-semibold">Room {room.code}</h1>
      {!view.serverConnected && <Alert tone="warning">Reconnecting to the server… Transfers in progress continue.</Alert>}
      {view.serverConnected && view.error && <Alert tone="error">{view.error}</Alert>}
      <Card className="flex flex-col gap-4 sm:flex-row sm:items-center">
        <QrCode text={room.link} size={160} label="QR code to join this room" />
        <div className="space-y-2">
          <p className="text-sm text-slate-600 dark:text-slate-300">Room code</p>
          <p className="font-mono text-3xl font-bold tracking-[0.3em]" data-testid="room-code">
            {room.code}
          </p>
          <p className="break-all text-xs text-slate-600 dark:text-slate-400" data-testid="room-link">
            {room.link}
          </p>
          <div className="flex flex-wrap gap-2">
            <CopyButton text={room.link} label="Copy link" variant="secondary" />
            <Button variant="ghost" onClick={onLeave}>
              Leave room
            </Button>
          </div>
        </div>
      </Card>

      <Card className="space-y-3">
        <h2 className="text-lg font-semibold">In this room</h2>
        <ul className="space-y-2" aria-label="Devices in this room">
          <li className="text-sm">
            <span className="font-medium">{view.self?.name}</span>{' '}
            <span className="text-slate-600 dark:text-slate-300">(this device{view.self && view.self.device !== view.self.name ? ` · ${view.self.device}` : ''})</span>
          </li>
          {view.peers.map((p) => (
            <PeerRow key={p.peerId} peer={p} />
          ))}
        </ul>
        {view.peers.length === 0 && <p className="text-sm text-slate-600 dark:text-slate-300">Waiting for another device: scan the QR code, open the link or type the code.</p>}
        {view.peers.some((p) => p.link === 'failed') && <Alert tone="error">{view.relayOff ? RELAY_OFF_HINT : TURN_HINT}</Alert>}
      </Card>

      <Card className="space-y-3">
        <h2 className="text-lg font-semibold">Send files</h2>
        <div className="flex flex-wrap items-center gap-2">
          <FilePicker onFiles={setFiles} testId="p2p-file-input" variant="secondary">
            Choose files
          </FilePicker>
          <label className="text-sm" htmlFor="p2p-recipient">
            to
          </label>
          <select
            id="p2p-recipient"
            data-testid="recipient"
            value={recipient}
            onChange={(e) => setRecipient(e.currentTarget.value)}
            className="min-h-11 rounded-xl border border-slate-300 bg-white px-3 dark:border-slate-600 dark:bg-slate-800"
          >
            <option value="all">Everyone ({connected.length})</option>
            {connected.map((p) => (
              <option key={p.peerId} value={p.peerId}>
                {p.name}
              </option>
            ))}
          </select>
          <Button onClick={send} disabled={!files.length || connected.length === 0 || (recipient !== 'all' && !connected.some((p) => p.peerId === recipient))}>
            Send
          </Button>
        </div>
        {files.length > 0 && (
          <p className="text-sm text-slate-600 dark:text-slate-300" data-testid="selected-files">
            {files.length === 1 ? files[0]!.name : `${files.length} files`} · {formatBytes(files.reduce((s, f) => s + f.size, 0))}
          </p>
        )}
      </Card>

      {view.transfers.some((t) => t !== offer) && (
        <section className="space-y-3" aria-label="Transfers">
          <h2 className="text-lg font-semibold">Transfers</h2>
          {view.transfers.filter((t) => t !== offer).reverse().map((t) => (
            <TransferCard key={t.id} t={t} session={session} />
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
  const { offer, setAside } = useIncomingOffer(view.transfers)
  return (
    <Card className="space-y-3" data-testid="nearby-panel" data-state={hidden ? 'hidden' : view.nearbyState}>
      {offer && (
        <OfferDialog key={offer.id} offer={offer} onClose={() => setAside(offer.id)}>
          <TransferCard t={offer} session={session} />
        </OfferDialog>
      )}
      <h2 className="text-lg font-semibold">Devices nearby</h2>
      <p className="text-sm text-slate-600 dark:text-slate-300">
        {hidden
          ? 'This device is hidden: nearby devices do not see it.'
          : view.nearbyState === 'off'
            ? 'No nearby devices can be found from here: use a room code or link instead.'
            : view.peers.length === 0
              ? 'Open this page on another device on the same network: it appears here, no code needed.'
              : 'Tap a device to send it files.'}
      </p>
      {!hidden && view.peers.length > 0 && (
        <ul className="grid grid-cols-2 gap-3 sm:grid-cols-4" aria-label="Nearby devices">
          {view.peers.map((p) => (
            <li key={p.peerId} data-testid="nearby-device" data-link={p.link}>
              <FilePicker onFiles={(files) => session.sendFiles(files, [p.peerId])} testId="nearby-file-input" variant="secondary" className="flex h-full w-full flex-col items-center gap-1 py-4">
                <span aria-hidden="true" className="flex h-12 w-12 items-center justify-center rounded-full bg-indigo-100 text-lg font-semibold text-indigo-900 dark:bg-indigo-900 dark:text-indigo-100">
                  {initials(p.name)}
                </span>
                <span className="font-medium">{p.name}</span>
                {p.device && p.device !== p.name && <span className="text-xs text-slate-600 dark:text-slate-300">{p.device}</span>}
                <span className="text-xs text-slate-600 dark:text-slate-300">{p.link === 'connected' ? 'tap to send files' : p.link === 'failed' ? 'cannot connect' : 'connecting…'}</span>
              </FilePicker>
            </li>
          ))}
        </ul>
      )}
      <label className="flex items-center gap-2 text-sm">
        <input type="checkbox" checked={hidden} onChange={(e) => onHidden(e.currentTarget.checked)} className="h-4 w-4" />
        Hide this device from nearby devices
      </label>
      {view.transfers.some((t) => t !== offer) && (
        <section className="space-y-3" aria-label="Nearby transfers">
          {view.transfers.filter((t) => t !== offer).reverse().map((t) => (
            <TransferCard key={t.id} t={t} session={session} />
          ))}
        </section>
      )}
    </Card>
  )
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
  const badge =
    peer.link === 'connected'
      ? PATH_TEXT[peer.path ?? 'direct']
      : peer.link === 'failed'
        ? 'no direct connection'
        : peer.link === 'reconnecting'
          ? 'reconnecting…'
          : peer.link === 'closed'
            ? 'gone'
            : 'connecting…'
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

const PATH_TEXT = { direct: 'connected directly', turn: 'connected through TURN', relay: 'through the server relay' } as const

const PHASE_TEXT: Record<TransferView['phase'], string> = {
  offered: 'wants to send you',
  picking: 'choose a folder…',
  interrupted: 'interrupted',
  waiting: 'waiting for the other device to accept',
  active: 'transferring',
  finishing: 'checking',
  completed: 'done',
  declined: 'declined',
  cancelled: 'cancelled',
  failed: 'failed',
}

function TransferCard({ t, session }: { t: TransferView; session: RoomSession }) {
  const total = t.progress.total
  const pct = total > 0 ? (t.progress.bytes / total) * 100 : t.phase === 'completed' ? 100 : 0
  const title = t.direction === 'send' ? `To ${t.peerName}` : `From ${t.peerName}`
  const running = t.phase === 'active' || t.phase === 'finishing'
  const stoppable = !isFinal(t.phase) && t.phase !== 'offered' && t.phase !== 'picking'
  const names = t.files.length === 1 ? t.files[0]!.name : `${t.files.length} files`
  return (
    <Card className="space-y-3" data-testid="transfer" data-direction={t.direction} data-phase={t.phase}>
      <div className="flex flex-wrap items-baseline gap-x-2">
        <h3 className="font-semibold">{title}</h3>
        <span className="text-sm text-slate-600 dark:text-slate-300">
          {names} · {formatBytes(total)} · <span data-testid="transfer-phase">{PHASE_TEXT[t.phase]}</span>
          {running && t.path && (
            <span data-testid="transfer-path" data-path={t.path}>
              {' '}
              · {PATH_TEXT[t.path]}
            </span>
          )}
        </span>
      </div>
      {t.phase !== 'offered' && t.phase !== 'picking' && t.phase !== 'declined' && (
        <>
          <ProgressBar value={pct} label={`${title}: progress`} />
          <p className="text-sm tabular-nums text-slate-700 dark:text-slate-200" data-testid="transfer-stats">
            <span data-testid="transfer-percent">{Math.floor(pct)} %</span>
            {running && t.progress.speed > 0 && (
              <>
                {' '}
                · {formatSpeed(t.progress.speed)} · {Number.isFinite(t.progress.eta) ? `${formatDuration(t.progress.eta)} left` : '…'}
              </>
            )}
          </p>
        </>
      )}
      {t.phase === 'offered' && <OfferedFiles files={t.files} />}
      {t.message && <Alert tone={t.phase === 'failed' ? 'error' : 'info'}>{t.message}</Alert>}
      {t.phase === 'offered' && t.memoryWarning && (
        <Alert tone="warning">
          Over plain http this browser keeps received files in memory until you save them: fine for photos, risky for very large files. For those, open the app over https (or on localhost).
        </Alert>
      )}
      <div className="flex flex-wrap gap-2">
        {t.phase === 'offered' && (
          <>
            <Button onClick={() => void session.accept(t.id)}>Accept</Button>
            {canPickLocation() && (
              <Button variant="secondary" onClick={() => void session.accept(t.id, { pickLocation: true })}>
                Save to folder…
              </Button>
            )}
            <Button variant="ghost" onClick={() => session.decline(t.id)}>
              Decline
            </Button>
          </>
        )}
        {t.phase === 'interrupted' && t.needsFiles && (
          <FilePicker onFiles={(files) => session.resumeWith(t.id, files)} testId="resume-file-input" variant="primary">
            Choose the files again
          </FilePicker>
        )}
        {stoppable && (
          <Button variant="danger" onClick={() => session.cancel(t.id)}>
            Cancel
          </Button>
        )}
      </div>
      {t.received.length > 0 && (
        <ul className="space-y-1" aria-label="Received files">
          {t.received.map((f, i) => (
            <li key={i} className="flex flex-wrap items-center gap-2 text-sm" data-testid="received-file">
              {f.verified ? (
                <span className="rounded-full bg-emerald-100 px-2 py-0.5 text-xs text-emerald-900 dark:bg-emerald-900 dark:text-emerald-100" data-testid="verified">
                  verified
                </span>
              ) : (
                <span className="rounded-full bg-red-100 px-2 py-0.5 text-xs text-red-900">damaged</span>
              )}
              <span className="break-all">{f.name}</span>
              {f.verified && f.url && (
                <a href={f.url} download={f.name} className="font-semibold text-indigo-700 underline dark:text-indigo-300">
                  Save
                </a>
              )}
              {f.verified && f.sink === 'picked' && <span className="text-slate-500">saved to your folder</span>}
              {f.verified && f.sink === 'download' && <span className="text-slate-500">saved to your downloads</span>}
            </li>
          ))}
        </ul>
      )}
    </Card>
  )
}
