import type { DailyFigures } from '@sharesync/protocol'
import { Area, AreaChart, Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts'
import { formatBytes } from '../../lib/format'

/** "2026-11-21" -> "21 Nov" (the axis has little room on a phone). */
const shortDay = (day: string) =>
  new Date(`${day}T00:00:00Z`).toLocaleDateString(undefined, { day: 'numeric', month: 'short', timeZone: 'UTC' })

const AXIS = { fontSize: 12, fill: 'currentColor' }
// Series are not animated: the figures refresh whenever something happens on the server, and a
// chart regrowing from zero each time is distracting.

/** Per-day counts: uploads, downloads and P2P transfers. */
export function ActivityChart({ series }: { series: DailyFigures[] }) {
  const total = (k: keyof Omit<DailyFigures, 'day'>) => series.reduce((n, d) => n + d[k], 0)
  return (
    <figure className="text-slate-700 dark:text-slate-300">
      <figcaption className="mb-2 text-sm font-semibold">Uploads, downloads and P2P transfers per day</figcaption>
      <div
        role="img"
        aria-label={`Bar chart over ${series.length} days: ${total('uploads')} uploads, ${total('downloads')} downloads, ${total('p2pTransfers')} P2P transfers.`}
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
            <Bar isAnimationActive={false} dataKey="uploads" name="Uploads" fill="#4f46e5" />
            <Bar isAnimationActive={false} dataKey="downloads" name="Downloads" fill="#0d9488" />
            <Bar isAnimationActive={false} dataKey="p2pTransfers" name="P2P transfers" fill="#d97706" />
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
  return (
    <figure className="text-slate-700 dark:text-slate-300">
      <figcaption className="mb-2 text-sm font-semibold">Bytes per day</figcaption>
      <div
        role="img"
        aria-label={`Area chart over ${series.length} days: ${formatBytes(up)} uploaded, ${formatBytes(down)} downloaded.`}
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
              name="Uploaded"
              stroke="#4f46e5"
              fill="#4f46e5"
              fillOpacity={0.25}
            />
            <Area
              isAnimationActive={false}
              type="monotone"
              dataKey="bytesDown"
              name="Downloaded"
              stroke="#0d9488"
              fill="#0d9488"
              fillOpacity={0.25}
            />
            <Area
              isAnimationActive={false}
              type="monotone"
              dataKey="p2pBytes"
              name="Peer to peer"
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
