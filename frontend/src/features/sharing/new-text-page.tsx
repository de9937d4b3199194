import { Description, Field, Input, Label, Select, Textarea } from '@headlessui/react'
import { CreateTextRequest, MAX_NOTE_LENGTH, MAX_PASSWORD_LENGTH, MAX_TEXT_LENGTH } from '@sharesync/protocol'
import { useMemo, useState, type FormEvent } from 'react'
import { useTranslation } from 'react-i18next'
import { useLocation, useNavigate } from 'react-router-dom'
import { Alert } from '../../components/alert'
import { Button } from '../../components/button'
import { Card } from '../../components/card'
import { usePageTitle } from '../../components/page-title'
import { errorMessage } from '../../lib/api'
import { formatNumber, formatPeriod } from '../../lib/format'
import { usePublicConfig } from '../../lib/use-public-config'
import { cloudApi } from '../cloud/cloud-api'
import { keyStore } from '../cloud/encryption/key-store'
import { sealText } from '../cloud/encryption/seal-upload'
import { fieldInput } from '../cloud/upload-options'
import { ownedLinks } from '../cloud/upload-records'
import { allowedDownloadChoices, presetsRestricted, useShareRules, useViewerLimits } from '../cloud/use-viewer-limits'

const VIEW_CHOICES = ['unlimited', '1', '5', '10'] as const

/**
 * "Share a text": a snippet, a password or a link, with the options of a file link (expiry, views
 * allowed, password, end-to-end encryption). The result is a link like any other; recipients see
 * the text with a copy button.
 */
export function NewTextPage() {
  const { t } = useTranslation()
  const { config } = usePublicConfig()
  const limits = useViewerLimits(config)
  // The admin's share rules for this visitor: only the allowed presets are offered.
  const rules = useShareRules(config)
  const passwordRequired = rules?.passwordRequired === true
  const viewChoices = useMemo(() => allowedDownloadChoices(rules, VIEW_CHOICES), [rules])
  const navigate = useNavigate()
  usePageTitle(t('newText.heading'))
  const expiryChoices = useMemo(
    () => (config ? (rules?.expiryPresets ?? config.expiryChoices).filter((s) => s <= (limits?.maxExpiry ?? Infinity)) : []),
    [config, limits, rules],
  )
  const defaultExpiry = config
    ? expiryChoices.includes(config.defaults.expiresIn)
      ? config.defaults.expiresIn
      : expiryChoices[expiryChoices.length - 1]
    : undefined
  // Text pasted on the home page arrives here (router state), ready to share.
  const pasted: unknown = (useLocation().state as { text?: unknown } | null)?.text
  const [text, setText] = useState(() => (typeof pasted === 'string' ? pasted.slice(0, MAX_TEXT_LENGTH) : ''))
  const [note, setNote] = useState('')
  const [expiry, setExpiry] = useState('')
  const [viewsChoice, setViews] = useState('1')
  const views = viewChoices.includes(viewsChoice) ? viewsChoice : (viewChoices[0] ?? 'unlimited')
  const [password, setPassword] = useState('')
  const encryptionRequired = config?.encryption.required === true || rules?.encryptionRequired === true
  const [encryptedChoice, setEncrypted] = useState<boolean | null>(null)
  const encrypted = encryptionRequired || (encryptedChoice ?? config?.encryption.default === true)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const chosenExpiry = expiry ? Number(expiry) : defaultExpiry

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    if (busy) return
    setError(null)
    const options = { expiresIn: chosenExpiry, maxDownloads: views === 'unlimited' ? null : Number(views) }
    setBusy(true)
    try {
      const sealed = encrypted ? await sealText(text, { ...options, password: password || null, ...(note.trim() ? { note } : {}) }) : null
      const body = CreateTextRequest.safeParse(
        sealed ? sealed.request : { ...options, text, ...(note.trim() ? { note } : {}), ...(password ? { password } : {}) },
      )
      if (!body.success) {
        const where = body.error.issues[0]?.path[0]
        setError(
          where === 'text' || where === 'metadata'
            ? t(encrypted ? 'newText.tooLongEncrypted' : 'newText.tooLong', { max: formatNumber(MAX_TEXT_LENGTH) })
            : where === 'note'
              ? t('newText.noteTooLong', { max: MAX_NOTE_LENGTH })
              : t('newText.checkOptions', { message: body.error.issues[0]?.message ?? 'invalid input' }),
        )
        return
      }
      const created = await cloudApi.createText(body.data)
      if (!created.ownerToken) throw new Error(t('engine.noOwnerToken'))
      if (sealed) {
        await keyStore
          .save({
            shareId: created.id,
            token: sealed.token,
            ikm: sealed.key.ikm,
            accessToken: sealed.key.accessToken,
            expiresAt: created.expiresAt,
          })
          .catch(() => undefined)
      }
      ownedLinks.add({
        id: created.id,
        url: created.url,
        ownerToken: created.ownerToken,
        expiresAt: created.expiresAt,
        maxDownloads: created.maxDownloads,
        passwordProtected: Boolean(password),
        ...(sealed ? { encrypted: true } : {}),
        kind: 'text',
        createdAt: new Date().toISOString(),
        files: [],
      })
      await navigate(`/links/${encodeURIComponent(created.id)}`, { state: sealed ? { token: sealed.token } : null })
    } catch (err) {
      setError(errorMessage(err))
    } finally {
      setBusy(false)
    }
  }

  return (
    <Card aria-labelledby="text-new-heading">
      <form onSubmit={(e) => void submit(e)} className="space-y-6">
        <h1 id="text-new-heading" className="text-xl font-bold sm:text-2xl">
          {t('newText.heading')}
        </h1>
        <Field>
          <Label className="text-sm font-semibold">{t('newText.text')}</Label>
          <Description className="text-sm text-slate-600 dark:text-slate-400">{t('newText.textHelp')}</Description>
          <Textarea
            className={`${fieldInput} mt-1 min-h-40 font-mono`}
            value={text}
            required
            maxLength={MAX_TEXT_LENGTH}
            onChange={(e) => setText(e.target.value)}
            name="text"
          />
        </Field>
        <div className="grid gap-5 sm:grid-cols-2">
          <Field disabled={expiryChoices.length === 0}>
            <Label className="text-sm font-semibold">{t('upload.expiresAfter')}</Label>
            <Select
              className={`${fieldInput} mt-1`}
              value={chosenExpiry !== undefined ? String(chosenExpiry) : ''}
              onChange={(e) => setExpiry(e.target.value)}
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
            <Label className="text-sm font-semibold">{t('newText.viewsAllowed')}</Label>
            <Select className={`${fieldInput} mt-1`} value={views} onChange={(e) => setViews(e.target.value)}>
              {viewChoices.map((c) => (
                <option key={c} value={c}>
                  {c === 'unlimited' ? t('upload.unlimited') : c === '1' ? t('newText.oneView') : t('newText.views', { count: Number(c) })}
                </option>
              ))}
            </Select>
            {presetsRestricted(rules) && <Description className="mt-1 text-sm text-slate-600 dark:text-slate-400">{t('upload.presetsPolicy')}</Description>}
          </Field>
          <div className="sm:col-span-2">
            <label className="flex min-h-11 items-center gap-3 text-sm font-semibold">
              <input
                type="checkbox"
                className="h-5 w-5 accent-indigo-600"
                checked={encrypted}
                disabled={encryptionRequired}
                onChange={(e) => setEncrypted(e.target.checked)}
              />
              {t('upload.e2e')}
            </label>
            <p className="text-sm text-slate-600 dark:text-slate-400">
              {encryptionRequired ? `${t('upload.e2eRequired')} ` : ''}
              {t('newText.e2eHelp')}
            </p>
          </div>
          <Field className="sm:col-span-2">
            <Label className="text-sm font-semibold">{passwordRequired ? t('upload.passwordRequired') : t('upload.passwordOptional')}</Label>
            {passwordRequired && <Description className="text-sm text-slate-600 dark:text-slate-400">{t('upload.passwordPolicy')}</Description>}
            <Input
              required={passwordRequired}
              className={`${fieldInput} mt-1`}
              type="password"
              autoComplete="new-password"
              value={password}
              maxLength={MAX_PASSWORD_LENGTH}
              onChange={(e) => setPassword(e.target.value)}
            />
          </Field>
          <Field className="sm:col-span-2">
            <Label className="text-sm font-semibold">{t('newText.note')}</Label>
            <Description className="text-sm text-slate-600 dark:text-slate-400">{t('newText.noteHelp')}</Description>
            <Textarea
              className={`${fieldInput} mt-1 min-h-20`}
              value={note}
              maxLength={MAX_NOTE_LENGTH}
              onChange={(e) => setNote(e.target.value)}
            />
          </Field>
        </div>
        {error && <Alert tone="error">{error}</Alert>}
        <Button type="submit" className="w-full sm:w-auto" disabled={busy || text.length === 0}>
          {busy ? t('upload.creating') : t('newText.submit')}
        </Button>
      </form>
    </Card>
  )
}
