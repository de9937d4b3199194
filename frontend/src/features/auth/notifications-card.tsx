import type { NotificationChannels, NotifyOptions } from '@sharesync/protocol'
import { useEffect, useState, type FormEvent } from 'react'
import { useTranslation } from 'react-i18next'
import { Alert } from '../../components/alert'
import { Button } from '../../components/button'
import { Card } from '../../components/card'
import { CopyButton } from '../../components/copy-button'
import { api, errorMessage } from '../../lib/api'
import { inputClass } from '../admin/admin-parts'

const enc = encodeURIComponent

export const notifyApi = {
  channels: () => api<NotificationChannels>('/api/me/notifications'),
  saveChannels: (body: { email: boolean; webhookUrl: string | null; rotateSecret?: boolean }) =>
    api<NotificationChannels>('/api/me/notifications', { method: 'PUT', body }),
  shareNotify: (id: string) => api<NotifyOptions>(`/api/me/shares/${enc(id)}/notify`),
  setShareNotify: (id: string, body: NotifyOptions) => api<NotifyOptions>(`/api/me/shares/${enc(id)}/notify`, { method: 'PUT', body }),
}

/** An address, not words: the same in every language. */
const WEBHOOK_EXAMPLE = 'https://example.com/hooks/sharesync'

/** Where the signed-in user's notices go: e-mail to the account's address, and a signed webhook. */
export function NotificationsCard() {
  const { t } = useTranslation()
  const [channels, setChannels] = useState<NotificationChannels | null>(null)
  const [email, setEmail] = useState(false)
  const [webhookUrl, setWebhookUrl] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [notice, setNotice] = useState<string | null>(null)

  useEffect(() => {
    notifyApi.channels().then(
      (c) => {
        setChannels(c)
        setEmail(c.email)
        setWebhookUrl(c.webhookUrl ?? '')
      },
      (err: unknown) => setError(errorMessage(err)),
    )
  }, [])

  async function save(e: FormEvent, rotateSecret = false) {
    e.preventDefault()
    try {
      const saved = await notifyApi.saveChannels({ email, webhookUrl: webhookUrl.trim() || null, rotateSecret })
      setChannels(saved)
      setNotice(rotateSecret ? t('notify.newSecretMade') : t('notify.saved'))
      setError(null)
    } catch (err) {
      setError(errorMessage(err))
    }
  }

  if (!channels) return error ? <Alert tone="error">{error}</Alert> : null
  return (
    <Card className="space-y-3" aria-labelledby="notifications-heading">
      <h2 id="notifications-heading" className="text-lg font-semibold">
        {t('admin.tabs.notifications')}
      </h2>
      <p className="text-sm text-slate-600 dark:text-slate-400">{t('notify.intro')}</p>
      {error && <Alert tone="error">{error}</Alert>}
      {notice && <Alert tone="success">{notice}</Alert>}
      <form onSubmit={(e) => void save(e)} className="space-y-3">
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" checked={email} disabled={!channels.emailAvailable} onChange={(e) => setEmail(e.target.checked)} />
          <span>
            {t('notify.emailTo', { address: channels.emailAddress })}
            {!channels.emailAvailable && ` ${t('notify.noEmail')}`}
          </span>
        </label>
        <label className="block space-y-1 text-sm">
          <span className="font-medium">{t('notify.webhook')}</span>
          <input
            className={inputClass}
            type="url"
            maxLength={2048}
            placeholder={WEBHOOK_EXAMPLE}
            value={webhookUrl}
            onChange={(e) => setWebhookUrl(e.target.value)}
          />
        </label>
        {channels.webhookSecret && (
          <div className="flex flex-wrap items-center gap-2 text-sm">
            <span>{t('notify.secret')}</span>
            <code className="break-all rounded bg-slate-100 px-2 py-1 dark:bg-slate-800" data-testid="webhook-secret">
              {channels.webhookSecret}
            </code>
            <CopyButton text={channels.webhookSecret} variant="secondary" />
          </div>
        )}
        <div className="flex flex-wrap gap-2">
          <Button type="submit">{t('notify.save')}</Button>
          {channels.webhookSecret && (
            <Button variant="secondary" onClick={(e) => void save(e, true)}>
              {t('notify.newSecret')}
            </Button>
          )}
        </div>
      </form>
    </Card>
  )
}

/** "Tell me": what one share reports (first / every / last download, expired unused). */
export function ShareNotifySelect({ shareId, limited }: { shareId: string; limited: boolean }) {
  const { t } = useTranslation()
  const [value, setValue] = useState<NotifyOptions | null>(null)
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    notifyApi.shareNotify(shareId).then(setValue, (err: unknown) => setError(errorMessage(err)))
  }, [shareId])
  if (!value) return error ? <span className="text-xs text-red-700 dark:text-red-300">{error}</span> : null
  const change = (next: NotifyOptions) =>
    notifyApi.setShareNotify(shareId, next).then(setValue, (err: unknown) => setError(errorMessage(err)))
  return (
    <span className="flex flex-wrap items-center gap-2 text-sm">
      <label className="flex items-center gap-2">
        <span>{t('notify.tellMe')}</span>
        <select
          className="min-h-11 rounded-xl border border-slate-300 bg-white px-2 dark:border-slate-600 dark:bg-slate-800"
          value={value.downloads}
          onChange={(e) => void change({ ...value, downloads: e.target.value as NotifyOptions['downloads'] })}
        >
          <option value="off">{t('notify.off')}</option>
          <option value="first">{t('notify.first')}</option>
          <option value="every">{t('notify.every')}</option>
          {limited && <option value="last">{t('notify.last')}</option>}
        </select>
      </label>
      <label className="flex items-center gap-1">
        <input type="checkbox" checked={value.expired} onChange={(e) => void change({ ...value, expired: e.target.checked })} />
        <span>{t('notify.expiredUnused')}</span>
      </label>
      {error && <span className="text-xs text-red-700 dark:text-red-300">{error}</span>}
    </span>
  )
}
