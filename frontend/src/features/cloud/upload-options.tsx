import { Field, Input, Label, Description, Select, Textarea } from '@headlessui/react'
import { MAX_FILES_PER_SHARE, MAX_NOTE_LENGTH, type PublicConfig, type UserLimits } from '@sharesync/protocol'
import { useId, useMemo, useState, type FormEvent } from 'react'
import { useTranslation } from 'react-i18next'
import { Alert } from '../../components/alert'
import { Button } from '../../components/button'
import { Card } from '../../components/card'
import { FilePicker } from '../../components/file-picker'
import { formatBytes, formatPeriod } from '../../lib/format'
import { folderOfFile } from '../../lib/file-paths'
import type { UploadChoice } from './use-upload'
import { allowedDownloadChoices, presetsRestricted, useShareRules } from './use-viewer-limits'

const DOWNLOAD_CHOICES = ['unlimited', '1', '5', '10', '50', '100']

export const fieldInput =
  'block min-h-11 w-full rounded-xl border border-slate-300 bg-white px-3 py-2 text-base text-slate-900 ' +
  'focus:outline-none data-[focus]:border-indigo-500 data-[focus]:outline-2 data-[focus]:outline-indigo-500 ' +
  'dark:border-slate-600 dark:bg-slate-800 dark:text-slate-100'

/** The selected files and the link options (expiry, download limit, password), within the server's limits. */
export function UploadOptions({
  files,
  config,
  limits,
  error,
  busy,
  onAddFiles,
  onRemove,
  onClear,
  onSubmit,
}: {
  files: File[]
  config: PublicConfig | null
  limits: UserLimits | null
  error: string | null
  busy: boolean
  onAddFiles: (files: File[]) => void
  onRemove: (index: number) => void
  onClear: () => void
  onSubmit: (choice: UploadChoice) => void
}) {
  const { t } = useTranslation()
  // The admin's share rules for this visitor: only the allowed presets are offered.
  const rules = useShareRules(config)
  const expiryChoices = useMemo(() => {
    if (!config) return []
    const max = limits?.maxExpiry ?? Infinity
    return (rules?.expiryPresets ?? config.expiryChoices).filter((s) => s <= max)
  }, [config, limits, rules])
  const downloadChoices = useMemo(() => allowedDownloadChoices(rules, DOWNLOAD_CHOICES), [rules])
  const restricted = presetsRestricted(rules)
  const defaultExpiry = config
    ? expiryChoices.includes(config.defaults.expiresIn)
      ? config.defaults.expiresIn
      : expiryChoices[expiryChoices.length - 1]
    : undefined
  const [expiry, setExpiry] = useState<string>('')
  const [downloadsChoice, setDownloads] = useState<string>(() =>
    config?.defaults.maxDownloads ? String(config.defaults.maxDownloads) : 'unlimited',
  )
  // A choice the rules do not offer (they may arrive after the first render) falls on the first allowed one.
  const downloads = downloadChoices.includes(downloadsChoice) ? downloadsChoice : (downloadChoices[0] ?? 'unlimited')
  const [password, setPassword] = useState('')
  const encryptionRequired = config?.encryption.required === true || rules?.encryptionRequired === true
  const [encryptedChoice, setEncrypted] = useState<boolean | null>(null)
  // Until the person chooses, the admin's default applies (it may arrive after the first render).
  const encrypted = encryptionRequired || (encryptedChoice ?? config?.encryption.default === true)
  const [showPassword, setShowPassword] = useState(false)
  const [note, setNote] = useState('')
  const [previews, setPreviews] = useState(true)
  const [cloudCopy, setCloudCopy] = useState(true)
  const previewsOff = config?.previews === false
  const passwordRequired = rules?.passwordRequired === true
  const missingPassword = passwordRequired && password === ''

  const total = files.reduce((n, f) => n + f.size, 0)
  const tooBig = limits ? files.filter((f) => f.size > limits.maxFileSize) : []
  const tooMany = files.length > MAX_FILES_PER_SHARE
  const chosenExpiry = expiry ? Number(expiry) : defaultExpiry

  const submit = (e: FormEvent) => {
    e.preventDefault()
    if (tooBig.length || tooMany || busy || missingPassword) return
    onSubmit({
      expiresIn: chosenExpiry,
      maxDownloads: downloads === 'unlimited' ? null : Number(downloads),
      password,
      encrypted,
      note,
      previews,
      cloudCopy,
    })
  }

  return (
    <Card aria-labelledby="options-heading">
      <form onSubmit={submit} className="space-y-6">
        <div className="flex flex-wrap items-baseline justify-between gap-2">
          <h1 id="options-heading" className="text-xl font-bold sm:text-2xl">
            {t('home.createLink')}
          </h1>
          <p className="text-sm text-slate-600 dark:text-slate-400">
            {t('common.fileCount', { count: files.length })} · {formatBytes(total)}
          </p>
        </div>

        <ul
          className="divide-y divide-slate-200 rounded-xl border border-slate-200 dark:divide-slate-700 dark:border-slate-700"
          aria-label={t('upload.selectedFiles')}
        >
          {files.map((f, i) => (
            <li key={`${f.name}-${f.size}-${i}`} className="flex items-center gap-3 px-3 py-2">
              <div className="min-w-0 flex-1">
                <p className="truncate font-medium">
                  {folderOfFile(f) && <span className="font-normal text-slate-600 dark:text-slate-400">{folderOfFile(f)}/</span>}
                  {f.name}
                </p>
                <p
                  className={`text-sm ${limits && f.size > limits.maxFileSize ? 'font-semibold text-red-700 dark:text-red-300' : 'text-slate-600 dark:text-slate-400'}`}
                >
                  {formatBytes(f.size)}
                  {limits && f.size > limits.maxFileSize ? ` — ${t('upload.overLimit', { limit: formatBytes(limits.maxFileSize) })}` : ''}
                </p>
              </div>
              <Button variant="ghost" onClick={() => onRemove(i)} aria-label={t('upload.removeFile', { name: f.name })} disabled={busy}>
                {t('common.remove')}
              </Button>
            </li>
          ))}
        </ul>
        <div className="flex flex-wrap gap-3">
          <FilePicker onFiles={onAddFiles} variant="secondary">
            {t('upload.addMoreFiles')}
          </FilePicker>
          <FilePicker onFiles={onAddFiles} variant="secondary" directory testId="folder-input-more">
            {t('upload.addFolder')}
          </FilePicker>
          <Button variant="ghost" onClick={onClear} disabled={busy}>
            {t('upload.clear')}
          </Button>
        </div>

        <div className="grid gap-5 sm:grid-cols-2">
          <Field disabled={expiryChoices.length === 0}>
            <Label className="text-sm font-semibold">{t('upload.expiresAfter')}</Label>
            <Select
              className={`${fieldInput} mt-1`}
              value={chosenExpiry !== undefined ? String(chosenExpiry) : ''}
              onChange={(e) => setExpiry(e.target.value)}
              name="expiresIn"
            >
              {expiryChoices.length === 0 && <option value="">{t('upload.serverDefault')}</option>}
              {expiryChoices.map((s) => (
                <option key={s} value={String(s)}>
                  {formatPeriod(s)}
                </option>
              ))}
            </Select>
          </Field>
          <Field>
            <Label className="text-sm font-semibold">{t('upload.downloadsAllowed')}</Label>
            <Select className={`${fieldInput} mt-1`} value={downloads} onChange={(e) => setDownloads(e.target.value)} name="maxDownloads">
              {downloadChoices.map((c) => (
                <option key={c} value={c}>
                  {c === 'unlimited' ? t('upload.unlimited') : c === '1' ? t('upload.oneDownload') : t('upload.downloads', { count: Number(c) })}
                </option>
              ))}
            </Select>
            {restricted && (
              <Description className="mt-1 text-sm text-slate-600 dark:text-slate-400" data-testid="presets-policy">
                {t('upload.presetsPolicy')}
              </Description>
            )}
            {downloads !== 'unlimited' && files.length > 1 && (
              <Description className="mt-1 text-sm text-slate-600 dark:text-slate-400" data-testid="download-rule">
                {t('share.oneVisit', { count: files.length })}
              </Description>
            )}
          </Field>
          <CheckOption name="cloudCopy" label={t('link.keepCopy')} checked={cloudCopy} onChange={setCloudCopy} help={cloudCopy ? t('link.keepCopyHelp') : t('link.noCopyHelp')} />
          <CheckOption
            name="encrypted"
            label={t('upload.e2e')}
            checked={encrypted}
            disabled={encryptionRequired}
            onChange={setEncrypted}
            help={`${encryptionRequired ? `${t('upload.e2eRequired')} ` : ''}${t('upload.e2eHelp')}`}
          />
          <Field className="sm:col-span-2">
            <Label className="text-sm font-semibold">{passwordRequired ? t('upload.passwordRequired') : t('upload.passwordOptional')}</Label>
            <Description className="text-sm text-slate-600 dark:text-slate-400">
              {passwordRequired ? `${t('upload.passwordPolicy')} ` : ''}
              {encrypted ? t('upload.passwordEncrypted') : t('upload.passwordPlain')}
            </Description>
            <div className="mt-1 flex items-stretch gap-2">
              <Input
                className={fieldInput}
                type={showPassword ? 'text' : 'password'}
                autoComplete="new-password"
                value={password}
                maxLength={256}
                required={passwordRequired}
                onChange={(e) => setPassword(e.target.value)}
                name="password"
              />
              <Button variant="secondary" onClick={() => setShowPassword((s) => !s)} aria-pressed={showPassword}>
                {showPassword ? t('common.hide') : t('common.show')}
              </Button>
            </div>
          </Field>
          <Field className="sm:col-span-2">
            <Label className="text-sm font-semibold">{t('upload.note')}</Label>
            <Description className="text-sm text-slate-600 dark:text-slate-400">
              {encrypted ? t('upload.noteHelpEncrypted') : t('upload.noteHelp')}
            </Description>
            <Textarea
              className={`${fieldInput} mt-1 min-h-20`}
              value={note}
              maxLength={MAX_NOTE_LENGTH}
              onChange={(e) => setNote(e.target.value)}
              name="note"
            />
          </Field>
          {!previewsOff && !encrypted && (
            <label className="flex min-h-11 items-center gap-3 text-sm font-semibold sm:col-span-2">
              <input
                type="checkbox"
                name="previews"
                className="h-5 w-5 accent-indigo-600"
                checked={previews}
                onChange={(e) => setPreviews(e.target.checked)}
              />
              {t('upload.previews')}
            </label>
          )}
        </div>

        {limits && (
          <p className="text-sm text-slate-600 dark:text-slate-400">
            {t('upload.limits', { size: formatBytes(limits.maxFileSize), period: formatPeriod(limits.maxExpiry) })}
          </p>
        )}
        {tooMany && (
          <Alert tone="warning">
            {t('upload.tooMany', { max: MAX_FILES_PER_SHARE, extra: files.length - MAX_FILES_PER_SHARE })}
          </Alert>
        )}
        {error && <Alert tone="error">{error}</Alert>}
        <Button type="submit" className="w-full sm:w-auto" disabled={busy || tooBig.length > 0 || tooMany || files.length === 0 || missingPassword}>
          {busy ? t('upload.creating') : t('upload.submit')}
        </Button>
      </form>
    </Card>
  )
}

/** A switch of the options (a checkbox with its label) and the line that says what it does. */
function CheckOption({ name, label, help, checked, disabled, onChange }: { name: string; label: string; help: string; checked: boolean; disabled?: boolean; onChange: (checked: boolean) => void }) {
  const helpId = useId()
  return (
    <div className="sm:col-span-2">
      <label className="flex min-h-11 items-center gap-3 text-sm font-semibold">
        <input
          type="checkbox"
          name={name}
          className="h-5 w-5 accent-indigo-600"
          checked={checked}
          disabled={disabled}
          onChange={(e) => onChange(e.target.checked)}
          aria-describedby={helpId}
        />
        {label}
      </label>
      <p id={helpId} className="text-sm text-slate-600 dark:text-slate-400">
        {help}
      </p>
    </div>
  )
}
