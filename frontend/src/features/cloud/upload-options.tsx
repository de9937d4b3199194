import { Field, Input, Label, Description, Select, Textarea } from '@headlessui/react'
import { MAX_FILES_PER_SHARE, MAX_NOTE_LENGTH, type PublicConfig, type UserLimits } from '@sharesync/protocol'
import { useMemo, useState, type FormEvent } from 'react'
import { Alert } from '../../components/alert'
import { Button } from '../../components/button'
import { Card } from '../../components/card'
import { FilePicker } from '../../components/file-picker'
import { formatBytes, formatPeriod } from '../../lib/format'
import { folderOfFile } from '../../lib/file-paths'
import type { UploadChoice } from './use-upload'
import { usePasswordRequired } from './use-viewer-limits'

const DOWNLOAD_CHOICES: { value: string; label: string }[] = [
  { value: 'unlimited', label: 'Unlimited' },
  { value: '1', label: 'One download, then delete' },
  { value: '5', label: '5 downloads' },
  { value: '10', label: '10 downloads' },
  { value: '50', label: '50 downloads' },
  { value: '100', label: '100 downloads' },
]

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
  const expiryChoices = useMemo(() => {
    if (!config) return []
    const max = limits?.maxExpiry ?? Infinity
    return config.expiryChoices.filter((s) => s <= max)
  }, [config, limits])
  const defaultExpiry = config
    ? expiryChoices.includes(config.defaults.expiresIn)
      ? config.defaults.expiresIn
      : expiryChoices[expiryChoices.length - 1]
    : undefined
  const [expiry, setExpiry] = useState<string>('')
  const [downloads, setDownloads] = useState<string>(() =>
    config?.defaults.maxDownloads ? String(config.defaults.maxDownloads) : 'unlimited',
  )
  const [password, setPassword] = useState('')
  const encryptionRequired = config?.encryption.required === true
  const [encryptedChoice, setEncrypted] = useState<boolean | null>(null)
  // Until the person chooses, the admin's default applies (it may arrive after the first render).
  const encrypted = encryptionRequired || (encryptedChoice ?? config?.encryption.default === true)
  const [showPassword, setShowPassword] = useState(false)
  const [note, setNote] = useState('')
  const [previews, setPreviews] = useState(true)
  const previewsOff = config?.previews === false
  const passwordRequired = usePasswordRequired(config)
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
    })
  }

  return (
    <Card aria-labelledby="options-heading">
      <form onSubmit={submit} className="space-y-6">
        <div className="flex flex-wrap items-baseline justify-between gap-2">
          <h1 id="options-heading" className="text-xl font-bold sm:text-2xl">
            Create a link
          </h1>
          <p className="text-sm text-slate-600 dark:text-slate-400">
            {files.length} {files.length === 1 ? 'file' : 'files'} · {formatBytes(total)}
          </p>
        </div>

        <ul
          className="divide-y divide-slate-200 rounded-xl border border-slate-200 dark:divide-slate-700 dark:border-slate-700"
          aria-label="Selected files"
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
                  {limits && f.size > limits.maxFileSize ? ` — larger than the ${formatBytes(limits.maxFileSize)} limit` : ''}
                </p>
              </div>
              <Button variant="ghost" onClick={() => onRemove(i)} aria-label={`Remove ${f.name}`} disabled={busy}>
                Remove
              </Button>
            </li>
          ))}
        </ul>
        <div className="flex flex-wrap gap-3">
          <FilePicker onFiles={onAddFiles} variant="secondary">
            Add more files
          </FilePicker>
          <FilePicker onFiles={onAddFiles} variant="secondary" directory testId="folder-input-more">
            Add a folder
          </FilePicker>
          <Button variant="ghost" onClick={onClear} disabled={busy}>
            Clear
          </Button>
        </div>

        <div className="grid gap-5 sm:grid-cols-2">
          <Field disabled={expiryChoices.length === 0}>
            <Label className="text-sm font-semibold">Link expires after</Label>
            <Select
              className={`${fieldInput} mt-1`}
              value={chosenExpiry !== undefined ? String(chosenExpiry) : ''}
              onChange={(e) => setExpiry(e.target.value)}
              name="expiresIn"
            >
              {expiryChoices.length === 0 && <option value="">Server default</option>}
              {expiryChoices.map((s) => (
                <option key={s} value={String(s)}>
                  {formatPeriod(s)}
                </option>
              ))}
            </Select>
          </Field>
          <Field>
            <Label className="text-sm font-semibold">Downloads allowed</Label>
            <Select className={`${fieldInput} mt-1`} value={downloads} onChange={(e) => setDownloads(e.target.value)} name="maxDownloads">
              {DOWNLOAD_CHOICES.map((c) => (
                <option key={c.value} value={c.value}>
                  {c.label}
                </option>
              ))}
            </Select>
          </Field>
          <div className="sm:col-span-2">
            <label className="flex min-h-11 items-center gap-3 text-sm font-semibold">
              <input
                type="checkbox"
                name="encrypted"
                className="h-5 w-5 accent-indigo-600"
                checked={encrypted}
                disabled={encryptionRequired}
                onChange={(e) => setEncrypted(e.target.checked)}
                aria-describedby="encryption-help"
              />
              End-to-end encryption
            </label>
            <p id="encryption-help" className="text-sm text-slate-600 dark:text-slate-400">
              {encryptionRequired ? 'Required on this server. ' : ''}
              Files, names and types are encrypted in this browser before upload; the key travels only inside the link, so the server cannot
              read them.
            </p>
          </div>
          <Field className="sm:col-span-2">
            <Label className="text-sm font-semibold">{passwordRequired ? 'Password (required)' : 'Password (optional)'}</Label>
            <Description className="text-sm text-slate-600 dark:text-slate-400">
              {passwordRequired ? 'This server requires a password on links made without signing in. ' : ''}
              {encrypted
                ? 'Recipients need the link and this password: it becomes part of the key.'
                : 'Recipients must enter it; file names stay hidden until they do.'}
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
                {showPassword ? 'Hide' : 'Show'}
              </Button>
            </div>
          </Field>
          <Field className="sm:col-span-2">
            <Label className="text-sm font-semibold">Note to recipients (optional)</Label>
            <Description className="text-sm text-slate-600 dark:text-slate-400">
              Shown on the share page{encrypted ? ', encrypted with the names' : ''}. A little Markdown: links, emphasis, lists.
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
              Recipients may preview images, video, audio, PDF and text (a preview is not a download)
            </label>
          )}
        </div>

        {limits && (
          <p className="text-sm text-slate-600 dark:text-slate-400">
            Files up to {formatBytes(limits.maxFileSize)} each; links last at most {formatPeriod(limits.maxExpiry)}.
          </p>
        )}
        {tooMany && (
          <Alert tone="warning">
            A link holds at most {MAX_FILES_PER_SHARE} files; remove {files.length - MAX_FILES_PER_SHARE} or zip them first.
          </Alert>
        )}
        {error && <Alert tone="error">{error}</Alert>}
        <Button type="submit" className="w-full sm:w-auto" disabled={busy || tooBig.length > 0 || tooMany || files.length === 0 || missingPassword}>
          {busy ? 'Creating…' : 'Upload and create link'}
        </Button>
      </form>
    </Card>
  )
}
