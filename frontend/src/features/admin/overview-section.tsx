import type { AdminEvent, LiveFigures, StatsResponse } from '@sharesync/protocol'
import { Alert } from '../../components/alert'
import { Card } from '../../components/card'
import { formatBytes } from '../../lib/format'
import { inputClass, StatCard, TableScroll, tdClass, thClass } from './admin-parts'
import { ActivityChart, BytesChart } from './stats-charts'

export const RANGES = [7, 30, 90, 365] as const
export type RangeDays = (typeof RANGES)[number]

const n = (v: number) => v.toLocaleString()

/** Totals, live counters, the per-day charts, uploads by source, top shares, recent events. */
export function OverviewSection({
  stats,
  live,
  connected,
  events,
  days,
  onDays,
}: {
  stats: StatsResponse
  live: LiveFigures | null
  connected: boolean
  events: AdminEvent[]
  days: RangeDays
  onDays: (days: RangeDays) => void
}) {
  const t = stats.totals
  const now = live ?? stats.live
  return (
    <div className="space-y-6">
      <section aria-labelledby="totals-heading">
        <h2 id="totals-heading" className="mb-3 text-lg font-semibold">
          Totals
        </h2>
        <dl className="grid grid-cols-2 gap-3 sm:grid-cols-4">
          <StatCard
            label="Users"
            value={n(t.users)}
            hint={`${n(t.admins)} admin${t.admins === 1 ? '' : 's'}${t.disabledUsers ? `, ${n(t.disabledUsers)} disabled` : ''}`}
            testId="total-users"
          />
          <StatCard label="Active shares" value={n(t.activeShares)} testId="total-active-shares" />
          <StatCard label="Stored" value={formatBytes(t.storedBytes)} testId="total-stored" />
          <StatCard label="Uploads" value={n(t.uploads)} hint={formatBytes(t.uploadBytes)} testId="total-uploads" />
          <StatCard label="Downloads" value={n(t.downloads)} hint={formatBytes(t.downloadBytes)} testId="total-downloads" />
          <StatCard label="P2P transfers" value={n(t.p2pTransfers)} hint={`${n(t.p2pCompleted)} completed`} testId="total-p2p" />
          <StatCard label="P2P bytes" value={formatBytes(t.p2pBytes)} testId="total-p2p-bytes" />
          <StatCard label="Relayed by the server" value={formatBytes(t.p2pRelayBytes)} hint={`${n(t.p2pRelays)} relay channels`} testId="total-relay-bytes" />
        </dl>
      </section>

      <section aria-labelledby="live-heading">
        <div className="mb-3 flex items-center gap-2">
          <h2 id="live-heading" className="text-lg font-semibold">
            Live
          </h2>
          <span
            className={`rounded-full px-2 py-0.5 text-xs font-medium ${connected ? 'bg-emerald-100 text-emerald-900 dark:bg-emerald-900 dark:text-emerald-100' : 'bg-slate-200 text-slate-800 dark:bg-slate-800 dark:text-slate-200'}`}
            data-testid="feed-status"
          >
            {connected ? 'connected' : 'offline'}
          </span>
        </div>
        <dl className="grid grid-cols-2 gap-3 sm:grid-cols-5">
          <StatCard label="Sockets" value={n(now.sockets)} testId="live-sockets" />
          <StatCard label="Open rooms" value={n(now.rooms)} testId="live-rooms" />
          <StatCard label="Peers" value={n(now.peers)} testId="live-peers" />
          <StatCard label="Transfers now" value={n(now.transfersInProgress)} testId="live-transfers" />
          <StatCard label="Relays now" value={n(now.relays)} testId="live-relays" />
          <StatCard label="Dashboards" value={n(now.dashboards)} testId="live-dashboards" />
        </dl>
      </section>

      <Card className="space-y-4" aria-labelledby="series-heading">
        <div className="flex flex-wrap items-center justify-between gap-3">
          <h2 id="series-heading" className="text-lg font-semibold">
            Activity
          </h2>
          <label className="flex items-center gap-2 text-sm">
            <span>Range</span>
            <select
              className={`${inputClass} inline-block w-auto`}
              value={days}
              onChange={(e) => onDays(Number(e.target.value) as RangeDays)}
            >
              {RANGES.map((d) => (
                <option key={d} value={d}>
                  Last {d} days
                </option>
              ))}
            </select>
          </label>
        </div>
        <ActivityChart series={stats.series} />
        <BytesChart series={stats.series} />
        <details>
          <summary className="cursor-pointer text-sm font-medium">Show the figures as a table</summary>
          <TableScroll label="Figures per day">
            <table className="mt-2 w-full text-sm" data-testid="series-table">
              <thead>
                <tr>
                  {['Day', 'Uploads', 'Downloads', 'Uploaded', 'Downloaded', 'P2P'].map((h) => (
                    <th key={h} scope="col" className={thClass}>
                      {h}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {[...stats.series].reverse().map((d) => (
                  <tr key={d.day} className="border-t border-slate-200 dark:border-slate-700">
                    <th scope="row" className={`${tdClass} whitespace-nowrap text-left font-medium`}>
                      {d.day}
                    </th>
                    <td className={tdClass}>{n(d.uploads)}</td>
                    <td className={tdClass}>{n(d.downloads)}</td>
                    <td className={tdClass}>{formatBytes(d.bytesUp)}</td>
                    <td className={tdClass}>{formatBytes(d.bytesDown)}</td>
                    <td className={tdClass}>{n(d.p2pTransfers)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        </details>
      </Card>

      <div className="grid gap-6 sm:grid-cols-2">
        <Card aria-labelledby="source-heading">
          <h2 id="source-heading" className="mb-3 text-lg font-semibold">
            Uploads by who
          </h2>
          <dl className="grid grid-cols-2 gap-3">
            <StatCard
              label="Signed in"
              value={n(stats.uploadsBySource.signedIn.uploads)}
              hint={formatBytes(stats.uploadsBySource.signedIn.bytes)}
              testId="uploads-signed-in"
            />
            <StatCard
              label="Anonymous"
              value={n(stats.uploadsBySource.anonymous.uploads)}
              hint={formatBytes(stats.uploadsBySource.anonymous.bytes)}
              testId="uploads-anonymous"
            />
          </dl>
          <p className="mt-2 text-xs text-slate-600 dark:text-slate-400">
            {stats.range.from} to {stats.range.to} (UTC)
          </p>
        </Card>
        <Card aria-labelledby="events-heading">
          <h2 id="events-heading" className="mb-3 text-lg font-semibold">
            Happening now
          </h2>
          {events.length === 0 ? (
            <p className="text-sm text-slate-600 dark:text-slate-400">Events appear here as they happen.</p>
          ) : (
            <ul className="max-h-64 space-y-1 overflow-y-auto text-sm" data-testid="event-list">
              {events.map((e, i) => (
                <li key={`${e.at}-${i}`} className="flex gap-2">
                  <time className="shrink-0 tabular-nums text-slate-600 dark:text-slate-400" dateTime={e.at}>
                    {new Date(e.at).toLocaleTimeString()}
                  </time>
                  <span>{describeEvent(e)}</span>
                </li>
              ))}
            </ul>
          )}
        </Card>
      </div>

      <Card aria-labelledby="top-heading">
        <h2 id="top-heading" className="mb-3 text-lg font-semibold">
          Most downloaded
        </h2>
        {stats.topShares.length === 0 ? (
          <p className="text-sm text-slate-600 dark:text-slate-400">No downloads yet.</p>
        ) : (
          <TableScroll label="Most downloaded shares">
            <table className="w-full text-sm" data-testid="top-shares">
              <thead>
                <tr>
                  {['Share', 'Owner', 'Size', 'Downloads', 'Status'].map((h) => (
                    <th key={h} scope="col" className={thClass}>
                      {h}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {stats.topShares.map((s) => (
                  <tr key={s.id} className="border-t border-slate-200 dark:border-slate-700">
                    <td className={`${tdClass} max-w-48 truncate`} title={s.name ?? s.id}>
                      {s.encrypted ? `Encrypted · ${s.fileCount} ${s.fileCount === 1 ? 'file' : 'files'}` : (s.name ?? s.id)}
                      {!s.encrypted && s.fileCount > 1 ? ` +${s.fileCount - 1}` : ''}
                    </td>
                    <td className={`${tdClass} max-w-40 truncate`}>{s.ownerEmail ?? 'anonymous'}</td>
                    <td className={`${tdClass} whitespace-nowrap`}>{formatBytes(s.size)}</td>
                    <td className={tdClass}>{n(s.downloads)}</td>
                    <td className={tdClass}>{s.status}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        )}
      </Card>
    </div>
  )
}

export function describeEvent(e: AdminEvent): string {
  switch (e.type) {
    case 'shareCreated':
      return `New ${e.anonymous ? 'anonymous ' : ''}share: ${e.files} file${e.files === 1 ? '' : 's'}, ${formatBytes(e.bytes)}`
    case 'shareDownloaded':
      return `Download of ${formatBytes(e.bytes)}`
    case 'shareDeleted':
      return `Share deleted by ${e.by}`
    case 'roomOpened':
      return 'P2P room opened'
    case 'roomClosed':
      return 'P2P room closed'
    case 'transferFinished':
      return `P2P transfer ${e.status}: ${formatBytes(e.bytes)}`
    case 'janitorRun':
      return `Janitor removed ${e.deleted} share${e.deleted === 1 ? '' : 's'}`
    case 'audit':
      return `${e.entry.actorEmail}: ${e.entry.action}`
  }
}

export function StatsError({ message }: { message: string }) {
  return <Alert tone="error">Could not load the statistics: {message}</Alert>
}
