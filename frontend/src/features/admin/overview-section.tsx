import type { AdminEvent, LiveFigures, StatsResponse } from '@sharesync/protocol'
import { useTranslation } from 'react-i18next'
import { Alert } from '../../components/alert'
import { i18n } from '../../i18n'
import { Card } from '../../components/card'
import { formatBytes, formatNumber, formatTime } from '../../lib/format'
import { inputClass, StatCard, TableScroll, tdClass, thClass } from './admin-parts'
import { ActivityChart, BytesChart } from './stats-charts'

export const RANGES = [7, 30, 90, 365] as const
export type RangeDays = (typeof RANGES)[number]

const n = formatNumber

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
  const { t } = useTranslation()
  const tot = stats.totals
  const now = live ?? stats.live
  return (
    <div className="space-y-6">
      <section aria-labelledby="totals-heading">
        <h2 id="totals-heading" className="mb-3 text-lg font-semibold">
          {t('admin.totals')}
        </h2>
        <dl className="grid grid-cols-2 gap-3 sm:grid-cols-4">
          <StatCard
            label={t('admin.users')}
            value={n(tot.users)}
            hint={`${t('admin.adminCount', { count: tot.admins })}${tot.disabledUsers ? `, ${t('admin.disabledCount', { count: tot.disabledUsers })}` : ''}`}
            testId="total-users"
          />
          <StatCard label={t('admin.activeShares')} value={n(tot.activeShares)} testId="total-active-shares" />
          <StatCard label={t('admin.stored')} value={formatBytes(tot.storedBytes)} testId="total-stored" />
          <StatCard label={t('admin.uploads')} value={n(tot.uploads)} hint={formatBytes(tot.uploadBytes)} testId="total-uploads" />
          <StatCard label={t('admin.downloads')} value={n(tot.downloads)} hint={formatBytes(tot.downloadBytes)} testId="total-downloads" />
          <StatCard label={t('admin.p2pTransfers')} value={n(tot.p2pTransfers)} hint={t('admin.completedCount', { count: tot.p2pCompleted })} testId="total-p2p" />
          <StatCard label={t('admin.p2pBytes')} value={formatBytes(tot.p2pBytes)} testId="total-p2p-bytes" />
          <StatCard label={t('admin.relayed')} value={formatBytes(tot.p2pRelayBytes)} hint={t('admin.relayChannels', { count: tot.p2pRelays })} testId="total-relay-bytes" />
        </dl>
      </section>

      <section aria-labelledby="live-heading">
        <div className="mb-3 flex items-center gap-2">
          <h2 id="live-heading" className="text-lg font-semibold">
            {t('admin.live')}
          </h2>
          <span
            className={`rounded-full px-2 py-0.5 text-xs font-medium ${connected ? 'bg-emerald-100 text-emerald-900 dark:bg-emerald-900 dark:text-emerald-100' : 'bg-slate-200 text-slate-800 dark:bg-slate-800 dark:text-slate-200'}`}
            data-testid="feed-status"
          >
            {connected ? t('admin.connected') : t('admin.offline')}
          </span>
        </div>
        <dl className="grid grid-cols-2 gap-3 sm:grid-cols-5">
          <StatCard label={t('admin.sockets')} value={n(now.sockets)} testId="live-sockets" />
          <StatCard label={t('admin.openRooms')} value={n(now.rooms)} testId="live-rooms" />
          <StatCard label={t('admin.peers')} value={n(now.peers)} testId="live-peers" />
          <StatCard label={t('admin.transfersNow')} value={n(now.transfersInProgress)} testId="live-transfers" />
          <StatCard label={t('admin.relaysNow')} value={n(now.relays)} testId="live-relays" />
          <StatCard label={t('admin.dashboards')} value={n(now.dashboards)} testId="live-dashboards" />
        </dl>
      </section>

      <Card className="space-y-4" aria-labelledby="series-heading">
        <div className="flex flex-wrap items-center justify-between gap-3">
          <h2 id="series-heading" className="text-lg font-semibold">
            {t('admin.activity')}
          </h2>
          <label className="flex items-center gap-2 text-sm">
            <span>{t('admin.rangeLabel')}</span>
            <select
              className={`${inputClass} inline-block w-auto`}
              value={days}
              onChange={(e) => onDays(Number(e.target.value) as RangeDays)}
            >
              {RANGES.map((d) => (
                <option key={d} value={d}>
                  {t('admin.lastDays', { count: d })}
                </option>
              ))}
            </select>
          </label>
        </div>
        <ActivityChart series={stats.series} />
        <BytesChart series={stats.series} />
        <details>
          <summary className="cursor-pointer text-sm font-medium">{t('admin.showTable')}</summary>
          <TableScroll label={t('admin.figuresPerDay')}>
            <table className="mt-2 w-full text-sm" data-testid="series-table">
              <thead>
                <tr>
                  {[t('admin.day'), t('admin.uploads'), t('admin.downloads'), t('upload.uploaded'), t('admin.downloaded'), 'P2P'].map((h) => (
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
            {t('admin.uploadsByWho')}
          </h2>
          <dl className="grid grid-cols-2 gap-3">
            <StatCard
              label={t('admin.signedIn')}
              value={n(stats.uploadsBySource.signedIn.uploads)}
              hint={formatBytes(stats.uploadsBySource.signedIn.bytes)}
              testId="uploads-signed-in"
            />
            <StatCard
              label={t('admin.anonymous')}
              value={n(stats.uploadsBySource.anonymous.uploads)}
              hint={formatBytes(stats.uploadsBySource.anonymous.bytes)}
              testId="uploads-anonymous"
            />
          </dl>
          <p className="mt-2 text-xs text-slate-600 dark:text-slate-400">
            {t('admin.rangeUtc', { from: stats.range.from, to: stats.range.to })}
          </p>
        </Card>
        <Card aria-labelledby="events-heading">
          <h2 id="events-heading" className="mb-3 text-lg font-semibold">
            {t('admin.happeningNow')}
          </h2>
          {events.length === 0 ? (
            <p className="text-sm text-slate-600 dark:text-slate-400">{t('admin.eventsAppear')}</p>
          ) : (
            <ul className="max-h-64 space-y-1 overflow-y-auto text-sm" data-testid="event-list">
              {events.map((e, i) => (
                <li key={`${e.at}-${i}`} className="flex gap-2">
                  <time className="shrink-0 tabular-nums text-slate-600 dark:text-slate-400" dateTime={e.at}>
                    {formatTime(e.at)}
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
          {t('admin.mostDownloaded')}
        </h2>
        {stats.topShares.length === 0 ? (
          <p className="text-sm text-slate-600 dark:text-slate-400">{t('admin.noDownloads')}</p>
        ) : (
          <TableScroll label={t('admin.mostDownloadedShares')}>
            <table className="w-full text-sm" data-testid="top-shares">
              <thead>
                <tr>
                  {[t('admin.share'), t('admin.owner'), t('admin.size'), t('admin.downloads'), t('admin.status')].map((h) => (
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
                      {s.encrypted ? `${t('admin.encrypted')} · ${t('common.fileCount', { count: s.fileCount })}` : (s.name ?? s.id)}
                      {!s.encrypted && s.fileCount > 1 ? ` +${s.fileCount - 1}` : ''}
                    </td>
                    <td className={`${tdClass} max-w-40 truncate`}>{s.ownerEmail ?? t('admin.anonymousOwner')}</td>
                    <td className={`${tdClass} whitespace-nowrap`}>{formatBytes(s.size)}</td>
                    <td className={tdClass}>{n(s.downloads)}</td>
                    <td className={tdClass}>{t(`admin.shareStatus.${s.status}`)}</td>
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

/** An event of the live feed in words, in the current language (keys `admin.event.*`). */
export function describeEvent(e: AdminEvent): string {
  const t = i18n.t.bind(i18n)
  switch (e.type) {
    case 'shareCreated':
      return t(e.anonymous ? 'admin.event.shareCreatedAnonymous' : 'admin.event.shareCreated', { count: e.files, size: formatBytes(e.bytes) })
    case 'shareDownloaded':
      return t('admin.event.shareDownloaded', { size: formatBytes(e.bytes) })
    case 'shareDeleted':
      return t(`admin.event.shareDeletedBy.${e.by}`)
    case 'roomOpened':
      return t('admin.event.roomOpened')
    case 'roomClosed':
      return t('admin.event.roomClosed')
    case 'transferFinished':
      return t('admin.event.transferFinished', { status: t(`room.phase.${e.status}`, { defaultValue: e.status }), size: formatBytes(e.bytes) })
    case 'janitorRun':
      return t('admin.event.janitorRun', { count: e.deleted })
    case 'audit':
      return `${e.entry.actorEmail}: ${e.entry.action}`
  }
}

export function StatsError({ message }: { message: string }) {
  const { t } = useTranslation()
  return <Alert tone="error">{t('admin.statsError', { message })}</Alert>
}
