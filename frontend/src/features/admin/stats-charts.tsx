import type { DailyFigures } from '@sharesync/protocol'
import { Area, AreaChart, Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts'
import { useTranslation } from 'react-i18next'
import { currentLanguage } from '../../i18n'
import { formatBytes, formatNumber } from '../../lib/format'

/** "2026-11-21" -> "21 Nov" (the axis has little room on a phone). */
const shortDay = (day: string) =>
  new Date(`${day}T00:00:00Z`).toLocaleDateString(currentLanguage(), { day: 'numeric', month: 'short', timeZone: 'UTC' })

const AXIS = { fontSize: 12, fill: 'currentColor' }
// Series are not animated: the figures refresh whenever something happens on the server, and a
// chart regrowing from zero each time is distracting.

/** Per-day counts: uploads, downloads and P2P transfers. */
export function ActivityChart({ series }: { series: DailyFigures[] }) {
  const { t } = useTranslation()
  const total = (k: keyof Omit<DailyFigures, 'day'>) => formatNumber(series.reduce((n, d) => n + d[k], 0))
  return (
    <figure className="text-slate-700 dark:text-slate-300">
      <figcaption className="mb-2 text-sm font-semibold">{t('admin.chart.activityCaption')}</figcaption>
      <div
        role="img"
        aria-label={t('admin.chart.activityLabel', { days: series.length, uploads: total('uploads'), downloads: total('downloads'), p2p: total('p2pTransfers') })}
        className="h-64 w-full"
        data-testid="activity-chart"
      >
        <ResponsiveContainer width="100%" height="100%">
          <BarChart data={series} margin={{ top: 8, right: 8, bottom: 0, left: -16 }}>
            <CartesianGrid strokeDasharray="3 3" strokeOpacity={0.3} />
            <XAxis dataKey="day" tickFormatter={shortDay} tick={AXIS} minTickGap={16} />
            <YAxis allowDecimals={false} tick={AXIS} />
            <Tooltip labelFormatter={(d) => shortDay(String(d))} contentStyle={{ color: '#0f172a' }} />
            <Legend wrapperStyle={{ fontSize: 12 }} />
            <Bar isAnimationActive={false} dataKey="uploads" name={t('admin.uploads')} fill="#4f46e5" />
            <Bar isAnimationActive={false} dataKey="downloads" name={t('admin.downloads')} fill="#0d9488" />
            <Bar isAnimationActive={false} dataKey="p2pTransfers" name={t('admin.p2pTransfers')} fill="#d97706" />
          </BarChart>
        </ResponsiveContainer>
      </div>
    </figure>
  )
}

/** Per-day bytes: uploaded, downloaded, sent peer to peer. */
export function BytesChart({ series }: { series: DailyFigures[] }) {
  const up = series.reduce((n, d) => n + d.bytesUp, 0)
  const down = series.reduce((n, d) => n + d.bytesDown, 0)
  const { t } = useTranslation()
  return (
    <figure className="text-slate-700 dark:text-slate-300">
      <figcaption className="mb-2 text-sm font-semibold">{t('admin.chart.bytesCaption')}</figcaption>
      <div
        role="img"
        aria-label={t('admin.chart.bytesLabel', { days: series.length, up: formatBytes(up), down: formatBytes(down) })}
        className="h-64 w-full"
        data-testid="bytes-chart"
      >
        <ResponsiveContainer width="100%" height="100%">
          <AreaChart data={series} margin={{ top: 8, right: 8, bottom: 0, left: 8 }}>
            <CartesianGrid strokeDasharray="3 3" strokeOpacity={0.3} />
            <XAxis dataKey="day" tickFormatter={shortDay} tick={AXIS} minTickGap={16} />
            <YAxis tickFormatter={(v: number) => formatBytes(v)} tick={AXIS} width={64} />
            <Tooltip
              labelFormatter={(d) => shortDay(String(d))}
              formatter={(v) => formatBytes(Number(v))}
              contentStyle={{ color: '#0f172a' }}
            />
            <Legend wrapperStyle={{ fontSize: 12 }} />
            <Area
              isAnimationActive={false}
              type="monotone"
              dataKey="bytesUp"
              name={t('upload.uploaded')}
              stroke="#4f46e5"
              fill="#4f46e5"
              fillOpacity={0.25}
            />
            <Area
              isAnimationActive={false}
              type="monotone"
              dataKey="bytesDown"
              name={t('admin.downloaded')}
              stroke="#0d9488"
              fill="#0d9488"
              fillOpacity={0.25}
            />
            <Area
              isAnimationActive={false}
              type="monotone"
              dataKey="p2pBytes"
              name={t('admin.peerToPeer')}
              stroke="#d97706"
              fill="#d97706"
              fillOpacity={0.2}
            />
          </AreaChart>
        </ResponsiveContainer>
      </div>
    </figure>
  )
}
