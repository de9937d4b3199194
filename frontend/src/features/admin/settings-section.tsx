import type { AdminSettings, SettingsResponse } from '@sharesync/protocol'
import { useEffect, useState, type FormEvent } from 'react'
import { Alert } from '../../components/alert'
import { Button } from '../../components/button'
import { Card } from '../../components/card'
import { errorMessage } from '../../lib/api'
import { formatDateTime } from '../../lib/format'
import { adminApi } from './admin-api'
import { inputClass } from './admin-parts'

// Decimal units, as every size the app shows (lib/format.ts).
const MB = 1_000_000
const GB = 1_000_000_000
const HOUR = 3600
const DAY = 86_400

/** The form keeps the numbers as typed (strings) in the units people think in. */
interface Form {
  allowAnonymousUploads: boolean
  encryptByDefault: boolean
  requireEncryption: boolean
  p2pRelay: boolean
  previews: boolean
  anonymousPasswordRequired: boolean
  defaultExpiryHours: string
  userMaxFileMb: string
  userMaxExpiryDays: string
  userQuotaGb: string
  anonMaxFileMb: string
  anonMaxExpiryDays: string
  anonQuotaGb: string
  ratePoints: string
  rateMinutes: string
}

const num = (v: number, unit: number) => String(Math.round((v / unit) * 1000) / 1000)

function toForm(s: AdminSettings): Form {
  return {
    allowAnonymousUploads: s.allowAnonymousUploads,
    encryptByDefault: s.encryptByDefault,
    requireEncryption: s.requireEncryption,
    p2pRelay: s.p2pRelay,
    previews: s.previews,
    anonymousPasswordRequired: s.anonymousPasswordRequired,
    defaultExpiryHours: num(s.defaultExpiry, HOUR),
    userMaxFileMb: num(s.user.maxFileSize, MB),
    userMaxExpiryDays: num(s.user.maxExpiry, DAY),
    userQuotaGb: num(s.user.dailyQuota, GB),
    anonMaxFileMb: num(s.anonymous.maxFileSize, MB),
    anonMaxExpiryDays: num(s.anonymous.maxExpiry, DAY),
    anonQuotaGb: num(s.anonymous.dailyQuota, GB),
    ratePoints: String(s.uploadRateLimit.points),
    rateMinutes: num(s.uploadRateLimit.seconds, 60),
  }
}

function fromForm(f: Form): AdminSettings {
  const v = (text: string, unit: number) => Math.round(Number(text) * unit)
  return {
    allowAnonymousUploads: f.allowAnonymousUploads,
    encryptByDefault: f.encryptByDefault,
    requireEncryption: f.requireEncryption,
    p2pRelay: f.p2pRelay,
    previews: f.previews,
    anonymousPasswordRequired: f.anonymousPasswordRequired,
    defaultExpiry: v(f.defaultExpiryHours, HOUR),
    user: { maxFileSize: v(f.userMaxFileMb, MB), maxExpiry: v(f.userMaxExpiryDays, DAY), dailyQuota: v(f.userQuotaGb, GB) },
    anonymous: { maxFileSize: v(f.anonMaxFileMb, MB), maxExpiry: v(f.anonMaxExpiryDays, DAY), dailyQuota: v(f.anonQuotaGb, GB) },
    uploadRateLimit: { points: v(f.ratePoints, 1), seconds: v(f.rateMinutes, 60) },
  }
}

function NumberField({
  label,
  unit,
  value,
  onChange,
  hint,
}: {
  label: string
  unit: string
  value: string
  onChange: (v: string) => void
  hint?: string
}) {
  return (
    <label className="block text-sm">
      <span className="font-medium">
        {label} ({unit})
      </span>
      <input
        className={`${inputClass} mt-1`}
        type="number"
        inputMode="decimal"
        min="0"
        step="any"
        required
        value={value}
        onChange={(e) => onChange(e.target.value)}
      />
      {hint && <span className="mt-1 block text-xs text-slate-600 dark:text-slate-400">{hint}</span>}
    </label>
  )
}

/** The upload policy, saved in the database and applied by every instance from the next request. */
export function SettingsSection({ onSaved }: { onSaved: () => void }) {
  const [loaded, setLoaded] = useState<SettingsResponse | null>(null)
  const [form, setForm] = useState<Form | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [notice, setNotice] = useState<string | null>(null)
  const [saving, setSaving] = useState(false)

  useEffect(() => {
    adminApi.settings().then(
      (s) => {
        setLoaded(s)
        setForm(toForm(s.settings))
      },
      (err: unknown) => setError(errorMessage(err)),
    )
  }, [])

  if (!form || !loaded) return error ? <Alert tone="error">{error}</Alert> : <p role="status">Loading settings…</p>
  const defaults = toForm(loaded.defaults)
  const set = (patch: Partial<Form>) => setForm({ ...form, ...patch })

  async function save(e: FormEvent) {
    e.preventDefault()
    if (!form) return
    setSaving(true)
    try {
      const saved = await adminApi.saveSettings(fromForm(form))
      setLoaded(saved)
      setForm(toForm(saved.settings))
      setNotice('Saved. The new settings apply from the next upload.')
      setError(null)
      onSaved()
    } catch (err) {
      setError(errorMessage(err))
      setNotice(null)
    } finally {
      setSaving(false)
    }
  }

  return (
    <Card aria-labelledby="settings-heading">
      <form onSubmit={(e) => void save(e)} className="space-y-5" aria-labelledby="settings-heading">
        <div>
          <h2 id="settings-heading" className="text-lg font-semibold">
            Upload settings
          </h2>
          <p className="text-sm text-slate-600 dark:text-slate-400">
            {loaded.updatedAt
              ? `Last changed ${formatDateTime(loaded.updatedAt)} by ${loaded.updatedBy ?? 'an admin'}.`
              : 'The server’s environment defaults apply.'}
          </p>
        </div>
        <label className="flex min-h-11 items-center gap-3 text-sm font-medium">
          <input
            type="checkbox"
            className="h-5 w-5 accent-indigo-600"
            checked={form.allowAnonymousUploads}
            onChange={(e) => set({ allowAnonymousUploads: e.target.checked })}
          />
          Allow uploads without signing in
        </label>
        <label className="flex min-h-11 items-center gap-3 text-sm font-medium">
          <input
            type="checkbox"
            className="h-5 w-5 accent-indigo-600"
            checked={form.previews}
            onChange={(e) => set({ previews: e.target.checked })}
            aria-describedby="previews-help"
          />
          Previews on share pages
        </label>
        <label className="flex min-h-11 items-center gap-3 text-sm font-medium">
          <input
            type="checkbox"
            className="h-5 w-5 accent-indigo-600"
            checked={form.anonymousPasswordRequired}
            onChange={(e) => set({ anonymousPasswordRequired: e.target.checked })}
          />
          Links made without signing in need a password
        </label>
        <p id="previews-help" className="-mt-4 text-xs text-slate-600 dark:text-slate-400">
          Recipients may look at images, video, audio, PDF and text before downloading; a preview never counts as a download. Owners can
          still turn previews off for their own links.
        </p>
        <fieldset className="space-y-1 rounded-xl border border-slate-200 p-3 dark:border-slate-700">
          <legend className="px-1 text-sm font-semibold">End-to-end encryption</legend>
          <label className="flex min-h-11 items-center gap-3 text-sm font-medium">
            <input
              type="checkbox"
              className="h-5 w-5 accent-indigo-600"
              checked={form.encryptByDefault || form.requireEncryption}
              disabled={form.requireEncryption}
              onChange={(e) => set({ encryptByDefault: e.target.checked })}
            />
            Encrypt new links by default
          </label>
          <label className="flex min-h-11 items-center gap-3 text-sm font-medium">
            <input
              type="checkbox"
              className="h-5 w-5 accent-indigo-600"
              checked={form.requireEncryption}
              onChange={(e) => set({ requireEncryption: e.target.checked })}
            />
            Require end-to-end encryption
          </label>
          <p className="text-xs text-slate-600 dark:text-slate-400">
            When required, uploads that are not encrypted in the browser are refused, including plain curl uploads; the server then holds
            no file names or contents it can read.
          </p>
        </fieldset>
        <label className="flex min-h-11 items-center gap-3 text-sm font-medium">
          <input
            type="checkbox"
            className="h-5 w-5 accent-indigo-600"
            checked={form.p2pRelay}
            onChange={(e) => set({ p2pRelay: e.target.checked })}
          />
          Relay P2P transfers through this server when devices cannot connect directly
        </label>
        <NumberField
          label="Default expiry"
          unit="hours"
          value={form.defaultExpiryHours}
          onChange={(v) => set({ defaultExpiryHours: v })}
          hint={`default ${defaults.defaultExpiryHours}`}
        />
        <fieldset className="grid gap-3 rounded-xl border border-slate-200 p-3 sm:grid-cols-3 dark:border-slate-700">
          <legend className="px-1 text-sm font-semibold">Signed-in users</legend>
          <NumberField
            label="Max file size"
            unit="MB"
            value={form.userMaxFileMb}
            onChange={(v) => set({ userMaxFileMb: v })}
            hint={`default ${defaults.userMaxFileMb}`}
          />
          <NumberField
            label="Max expiry"
            unit="days"
            value={form.userMaxExpiryDays}
            onChange={(v) => set({ userMaxExpiryDays: v })}
            hint={`default ${defaults.userMaxExpiryDays}`}
          />
          <NumberField
            label="Daily quota"
            unit="GB"
            value={form.userQuotaGb}
            onChange={(v) => set({ userQuotaGb: v })}
            hint={`default ${defaults.userQuotaGb}`}
          />
        </fieldset>
        <fieldset className="grid gap-3 rounded-xl border border-slate-200 p-3 sm:grid-cols-3 dark:border-slate-700">
          <legend className="px-1 text-sm font-semibold">Anonymous visitors</legend>
          <NumberField
            label="Max file size"
            unit="MB"
            value={form.anonMaxFileMb}
            onChange={(v) => set({ anonMaxFileMb: v })}
            hint={`default ${defaults.anonMaxFileMb}; never above signed-in`}
          />
          <NumberField
            label="Max expiry"
            unit="days"
            value={form.anonMaxExpiryDays}
            onChange={(v) => set({ anonMaxExpiryDays: v })}
            hint={`default ${defaults.anonMaxExpiryDays}`}
          />
          <NumberField
            label="Daily quota"
            unit="GB"
            value={form.anonQuotaGb}
            onChange={(v) => set({ anonQuotaGb: v })}
            hint={`default ${defaults.anonQuotaGb}`}
          />
        </fieldset>
        <fieldset className="grid grid-cols-2 gap-3 rounded-xl border border-slate-200 p-3 dark:border-slate-700">
          <legend className="px-1 text-sm font-semibold">Upload rate limit (per person or address)</legend>
          <NumberField
            label="Uploads"
            unit="count"
            value={form.ratePoints}
            onChange={(v) => set({ ratePoints: v })}
            hint={`default ${defaults.ratePoints}`}
          />
          <NumberField
            label="Per"
            unit="minutes"
            value={form.rateMinutes}
            onChange={(v) => set({ rateMinutes: v })}
            hint={`default ${defaults.rateMinutes}`}
          />
        </fieldset>
        {error && <Alert tone="error">{error}</Alert>}
        {notice && <Alert tone="success">{notice}</Alert>}
        <div className="flex flex-wrap gap-2">
          <Button type="submit" disabled={saving}>
            {saving ? 'Saving…' : 'Save settings'}
          </Button>
          <Button variant="secondary" onClick={() => setForm(defaults)}>
            Reset to defaults
          </Button>
        </div>
      </form>
    </Card>
  )
}
