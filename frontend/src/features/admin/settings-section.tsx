import type { AdminSettings, AudienceRules, SettingsResponse, ShareRules } from '@sharesync/protocol'
import { useEffect, useState, type FormEvent } from 'react'
import { useTranslation } from 'react-i18next'
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
  /** per audience; presets as typed: comma-separated hours and download counts, empty for any */
  shareRules: Record<Audience, RulesForm>
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

type Audience = keyof ShareRules
const AUDIENCES: Audience[] = ['anonymous', 'user', 'admin']

interface RulesForm {
  passwordRequired: boolean
  encryptionRequired: boolean
  expiryHours: string
  downloads: string
  unlimitedDownloads: boolean
}

const list = (xs: number[] | null, unit: number) => (xs ?? []).map((x) => num(x, unit)).join(', ')
/** "1, 24" → [3600, 86400]; empty → null (any value). A typo stays NaN: the server refuses it with a clear error. */
const parseList = (text: string, unit: number) => {
  const items = text.split(',').map((x) => x.trim()).filter(Boolean)
  return items.length ? items.map((x) => Math.round(Number(x) * unit)) : null
}

function rulesToForm(r: AudienceRules): RulesForm {
  return {
    passwordRequired: r.passwordRequired,
    encryptionRequired: r.encryptionRequired,
    expiryHours: list(r.expiryPresets, HOUR),
    downloads: list(r.downloadPresets, 1),
    unlimitedDownloads: r.unlimitedDownloads,
  }
}

function rulesFromForm(f: RulesForm): AudienceRules {
  return {
    passwordRequired: f.passwordRequired,
    encryptionRequired: f.encryptionRequired,
    expiryPresets: parseList(f.expiryHours, HOUR),
    downloadPresets: parseList(f.downloads, 1),
    unlimitedDownloads: f.unlimitedDownloads,
  }
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
    shareRules: { anonymous: rulesToForm(s.shareRules.anonymous), user: rulesToForm(s.shareRules.user), admin: rulesToForm(s.shareRules.admin) },
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
    shareRules: { anonymous: rulesFromForm(f.shareRules.anonymous), user: rulesFromForm(f.shareRules.user), admin: rulesFromForm(f.shareRules.admin) },
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
  const { t } = useTranslation()
  return (
    <label className="block text-sm">
      <span className="font-medium">{t('admin.settings.fieldUnit', { label, unit })}</span>
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
  const { t } = useTranslation()
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

  if (!form || !loaded) return error ? <Alert tone="error">{error}</Alert> : <p role="status">{t('admin.settings.loading')}</p>
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
      setNotice(t('admin.settings.saved'))
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
            {t('admin.settings.heading')}
          </h2>
          <p className="text-sm text-slate-600 dark:text-slate-400">
            {loaded.updatedAt
              ? t('admin.settings.lastChanged', { when: formatDateTime(loaded.updatedAt), who: loaded.updatedBy ?? t('admin.settings.anAdmin') })
              : t('admin.settings.envDefaults')}
          </p>
        </div>
        <label className="flex min-h-11 items-center gap-3 text-sm font-medium">
          <input
            type="checkbox"
            className="h-5 w-5 accent-indigo-600"
            checked={form.allowAnonymousUploads}
            onChange={(e) => set({ allowAnonymousUploads: e.target.checked })}
          />
          {t('admin.settings.allowAnonymous')}
        </label>
        <label className="flex min-h-11 items-center gap-3 text-sm font-medium">
          <input
            type="checkbox"
            className="h-5 w-5 accent-indigo-600"
            checked={form.previews}
            onChange={(e) => set({ previews: e.target.checked })}
            aria-describedby="previews-help"
          />
          {t('admin.settings.previews')}
        </label>
        <label className="flex min-h-11 items-center gap-3 text-sm font-medium">
          <input
            type="checkbox"
            className="h-5 w-5 accent-indigo-600"
            checked={form.anonymousPasswordRequired}
            onChange={(e) => set({ anonymousPasswordRequired: e.target.checked })}
          />
          {t('admin.settings.anonPassword')}
        </label>
        <p id="previews-help" className="-mt-4 text-xs text-slate-600 dark:text-slate-400">
          {t('admin.settings.previewsHelp')}
        </p>
        <fieldset className="space-y-1 rounded-xl border border-slate-200 p-3 dark:border-slate-700">
          <legend className="px-1 text-sm font-semibold">{t('upload.e2e')}</legend>
          <label className="flex min-h-11 items-center gap-3 text-sm font-medium">
            <input
              type="checkbox"
              className="h-5 w-5 accent-indigo-600"
              checked={form.encryptByDefault || form.requireEncryption}
              disabled={form.requireEncryption}
              onChange={(e) => set({ encryptByDefault: e.target.checked })}
            />
            {t('admin.settings.encryptDefault')}
          </label>
          <label className="flex min-h-11 items-center gap-3 text-sm font-medium">
            <input
              type="checkbox"
              className="h-5 w-5 accent-indigo-600"
              checked={form.requireEncryption}
              onChange={(e) => set({ requireEncryption: e.target.checked })}
            />
            {t('admin.settings.requireEncryption')}
          </label>
          <p className="text-xs text-slate-600 dark:text-slate-400">
            {t('admin.settings.requireHelp')}
          </p>
        </fieldset>
        <label className="flex min-h-11 items-center gap-3 text-sm font-medium">
          <input
            type="checkbox"
            className="h-5 w-5 accent-indigo-600"
            checked={form.p2pRelay}
            onChange={(e) => set({ p2pRelay: e.target.checked })}
          />
          {t('admin.settings.relay')}
        </label>
        <NumberField
          label={t('admin.settings.defaultExpiry')}
          unit={t('admin.settings.unit.hours')}
          value={form.defaultExpiryHours}
          onChange={(v) => set({ defaultExpiryHours: v })}
          hint={t('admin.settings.default', { value: defaults.defaultExpiryHours })}
        />
        <fieldset className="grid gap-3 rounded-xl border border-slate-200 p-3 sm:grid-cols-3 dark:border-slate-700">
          <legend className="px-1 text-sm font-semibold">{t('admin.settings.signedInUsers')}</legend>
          <NumberField
            label={t('admin.settings.maxFileSize')}
            unit="MB"
            value={form.userMaxFileMb}
            onChange={(v) => set({ userMaxFileMb: v })}
            hint={t('admin.settings.default', { value: defaults.userMaxFileMb })}
          />
          <NumberField
            label={t('admin.settings.maxExpiry')}
            unit={t('admin.settings.unit.days')}
            value={form.userMaxExpiryDays}
            onChange={(v) => set({ userMaxExpiryDays: v })}
            hint={t('admin.settings.default', { value: defaults.userMaxExpiryDays })}
          />
          <NumberField
            label={t('admin.settings.dailyQuota')}
            unit="GB"
            value={form.userQuotaGb}
            onChange={(v) => set({ userQuotaGb: v })}
            hint={t('admin.settings.default', { value: defaults.userQuotaGb })}
          />
        </fieldset>
        <fieldset className="grid gap-3 rounded-xl border border-slate-200 p-3 sm:grid-cols-3 dark:border-slate-700">
          <legend className="px-1 text-sm font-semibold">{t('admin.settings.anonymousVisitors')}</legend>
          <NumberField
            label={t('admin.settings.maxFileSize')}
            unit="MB"
            value={form.anonMaxFileMb}
            onChange={(v) => set({ anonMaxFileMb: v })}
            hint={t('admin.settings.defaultNeverAbove', { value: defaults.anonMaxFileMb })}
          />
          <NumberField
            label={t('admin.settings.maxExpiry')}
            unit={t('admin.settings.unit.days')}
            value={form.anonMaxExpiryDays}
            onChange={(v) => set({ anonMaxExpiryDays: v })}
            hint={t('admin.settings.default', { value: defaults.anonMaxExpiryDays })}
          />
          <NumberField
            label={t('admin.settings.dailyQuota')}
            unit="GB"
            value={form.anonQuotaGb}
            onChange={(v) => set({ anonQuotaGb: v })}
            hint={t('admin.settings.default', { value: defaults.anonQuotaGb })}
          />
        </fieldset>
        <fieldset className="space-y-3 rounded-xl border border-slate-200 p-3 dark:border-slate-700" data-testid="share-rules">
          <legend className="px-1 text-sm font-semibold">{t('admin.settings.shareRules')}</legend>
          <p className="text-xs text-slate-600 dark:text-slate-400">{t('admin.settings.shareRulesHelp')}</p>
          {AUDIENCES.map((audience) => {
            const rules = form.shareRules[audience]
            const setRules = (patch: Partial<RulesForm>) => set({ shareRules: { ...form.shareRules, [audience]: { ...rules, ...patch } } })
            return (
              <fieldset key={audience} className="grid gap-2 sm:grid-cols-2" data-audience={audience}>
                <legend className="text-sm font-medium">{t(`admin.settings.audience.${audience}`)}</legend>
                <label className="flex min-h-11 items-center gap-3 text-sm">
                  <input type="checkbox" className="h-5 w-5 accent-indigo-600" checked={rules.passwordRequired} onChange={(e) => setRules({ passwordRequired: e.target.checked })} />
                  {t('admin.settings.rulePassword')}
                </label>
                <label className="flex min-h-11 items-center gap-3 text-sm">
                  <input type="checkbox" className="h-5 w-5 accent-indigo-600" checked={rules.encryptionRequired} onChange={(e) => setRules({ encryptionRequired: e.target.checked })} />
                  {t('admin.settings.requireEncryption')}
                </label>
                <label className="block text-sm">
                  <span className="font-medium">{t('admin.settings.ruleExpiry')}</span>
                  <input className={`${inputClass} mt-1`} name={`${audience}-expiry-presets`} inputMode="decimal" placeholder={t('admin.settings.ruleAny')} value={rules.expiryHours} onChange={(e) => setRules({ expiryHours: e.target.value })} />
                </label>
                <label className="block text-sm">
                  <span className="font-medium">{t('admin.settings.ruleDownloads')}</span>
                  <input className={`${inputClass} mt-1`} name={`${audience}-download-presets`} inputMode="numeric" placeholder={t('admin.settings.ruleAny')} value={rules.downloads} onChange={(e) => setRules({ downloads: e.target.value })} />
                </label>
                <label className="flex min-h-11 items-center gap-3 text-sm">
                  <input type="checkbox" className="h-5 w-5 accent-indigo-600" checked={rules.unlimitedDownloads} onChange={(e) => setRules({ unlimitedDownloads: e.target.checked })} />
                  {t('admin.settings.ruleUnlimited')}
                </label>
              </fieldset>
            )
          })}
        </fieldset>
        <fieldset className="grid grid-cols-2 gap-3 rounded-xl border border-slate-200 p-3 dark:border-slate-700">
          <legend className="px-1 text-sm font-semibold">{t('admin.settings.rateLimit')}</legend>
          <NumberField
            label={t('admin.settings.uploads')}
            unit={t('admin.settings.unit.count')}
            value={form.ratePoints}
            onChange={(v) => set({ ratePoints: v })}
            hint={t('admin.settings.default', { value: defaults.ratePoints })}
          />
          <NumberField
            label={t('admin.settings.per')}
            unit={t('admin.settings.unit.minutes')}
            value={form.rateMinutes}
            onChange={(v) => set({ rateMinutes: v })}
            hint={t('admin.settings.default', { value: defaults.rateMinutes })}
          />
        </fieldset>
        {error && <Alert tone="error">{error}</Alert>}
        {notice && <Alert tone="success">{notice}</Alert>}
        <div className="flex flex-wrap gap-2">
          <Button type="submit" disabled={saving}>
            {saving ? t('admin.settings.saving') : t('admin.settings.save')}
          </Button>
          <Button variant="secondary" onClick={() => setForm(defaults)}>
            {t('admin.settings.reset')}
          </Button>
        </div>
      </form>
    </Card>
  )
}
