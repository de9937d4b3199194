import { TokenScope, type ApiToken, type CreatedToken, type TokensResponse } from '@sharesync/protocol'
import { useCallback, useEffect, useState, type FormEvent } from 'react'
import { Trans, useTranslation } from 'react-i18next'
import { Alert } from '../../components/alert'
import { Button } from '../../components/button'
import { Card } from '../../components/card'
import { CopyButton } from '../../components/copy-button'
import { usePageTitle } from '../../components/page-title'
import { api, errorMessage } from '../../lib/api'
import { formatDateTime, formatPeriod } from '../../lib/format'
import { inputClass } from '../admin/admin-parts'
import { SignedInGate, SignInLink } from '../auth/signed-in-gate'
import { flameshotScript, sharexConfig } from './uploader-configs'

const tokensApi = {
  list: async () => (await api<TokensResponse>('/api/me/tokens')).tokens,
  create: (body: { name: string; scopes: TokenScope[]; expiresInDays: number | null }) => api<CreatedToken>('/api/me/tokens', { method: 'POST', body }),
  revoke: (id: string) => api<void>(`/api/me/tokens/${encodeURIComponent(id)}`, { method: 'DELETE' }),
}

// What each scope allows, in words: keys `tokens.scope.*`.

/** Token lifetimes in days (null: until revoked). */
const EXPIRY_CHOICES = [7, 30, 90, 365, null] as const

/** Route /me/tokens: personal API tokens for scripts, the CLI, ShareX and Flameshot. */
export function TokensPage() {
  const { t } = useTranslation()
  usePageTitle(t('auth.apiTokens'))
  return (
    <SignedInGate title={t('auth.apiTokens')} why={t('tokens.signInToMake')} action={<SignInLink returnTo="/me/tokens" label={t('auth.signIn')} />}>
      {(me) => <Tokens isAdmin={me.role === 'admin'} />}
    </SignedInGate>
  )
}

function Tokens({ isAdmin }: { isAdmin: boolean }) {
  const { t } = useTranslation()
  const [tokens, setTokens] = useState<ApiToken[] | null>(null)
  const [created, setCreated] = useState<CreatedToken | null>(null)
  const [error, setError] = useState<string | null>(null)
  const load = useCallback(async () => {
    try {
      setTokens(await tokensApi.list())
      setError(null)
    } catch (err) {
      setError(errorMessage(err))
    }
  }, [])
  useEffect(() => {
    void load()
  }, [load])

  const revoke = async (tok: ApiToken) => {
    if (!window.confirm(t('tokens.confirmRevoke', { name: tok.name }))) return
    try {
      await tokensApi.revoke(tok.id)
      if (created?.id === tok.id) setCreated(null)
      await load()
    } catch (err) {
      setError(errorMessage(err))
    }
  }

  return (
    <div className="space-y-6">
      <h1 className="text-2xl font-bold">{t('auth.apiTokens')}</h1>
      <p className="text-slate-700 dark:text-slate-300">
        <Trans i18nKey="tokens.intro" values={{ header: BEARER }} components={[<code key="code" />, <a key="docs" className="underline" href="/docs/api" />]} />
      </p>
      {error && <Alert tone="error">{error}</Alert>}
      {created && <NewToken token={created} />}
      <CreateForm
        isAdmin={isAdmin}
        onCreated={(made) => {
          setCreated(made)
          void load()
        }}
        onError={setError}
      />
      <Card className="space-y-3" aria-labelledby="tokens-heading">
        <h2 id="tokens-heading" className="text-lg font-semibold">
          {t('tokens.yours')}
        </h2>
        {tokens === null ? (
          <p>{t('common.loading')}</p>
        ) : tokens.length === 0 ? (
          <p className="text-slate-600 dark:text-slate-400">{t('tokens.none')}</p>
        ) : (
          <ul className="divide-y divide-slate-200 dark:divide-slate-700" data-testid="token-list">
            {tokens.map((tok) => (
              <li key={tok.id} className="flex flex-wrap items-center justify-between gap-2 py-3">
                <div className="min-w-0">
                  <p className="font-medium break-all">{tok.name}</p>
                  <p className="text-sm text-slate-600 dark:text-slate-400">
                    <code>{tok.prefix}…</code> · {tok.scopes.join(', ')} · {t('tokens.made', { when: formatDateTime(tok.createdAt) })} ·{' '}
                    {tok.expiresAt ? t('tokens.expires', { when: formatDateTime(tok.expiresAt) }) : t('tokens.neverExpires')} ·{' '}
                    {tok.lastUsedAt ? t('tokens.lastUsed', { when: formatDateTime(tok.lastUsedAt) }) : t('tokens.neverUsed')}
                  </p>
                </div>
                <Button variant="danger" onClick={() => void revoke(tok)}>
                  {t('tokens.revoke')}
                  <span className="sr-only"> {tok.name}</span>
                </Button>
              </li>
            ))}
          </ul>
        )}
      </Card>
    </div>
  )
}

function CreateForm({ isAdmin, onCreated, onError }: { isAdmin: boolean; onCreated: (t: CreatedToken) => void; onError: (m: string) => void }) {
  const { t } = useTranslation()
  const [name, setName] = useState('')
  const [scopes, setScopes] = useState<TokenScope[]>(['upload'])
  const [days, setDays] = useState<number | null>(90)
  const [busy, setBusy] = useState(false)
  const offered = TokenScope.options.filter((s) => s !== 'admin' || isAdmin)

  async function submit(e: FormEvent) {
    e.preventDefault()
    setBusy(true)
    try {
      onCreated(await tokensApi.create({ name: name.trim(), scopes, expiresInDays: days }))
      setName('')
    } catch (err) {
      onError(errorMessage(err))
    } finally {
      setBusy(false)
    }
  }

  return (
    <Card className="space-y-3" aria-labelledby="new-token-heading">
      <h2 id="new-token-heading" className="text-lg font-semibold">
        {t('tokens.new')}
      </h2>
      <form onSubmit={(e) => void submit(e)} className="space-y-3">
        <label className="block space-y-1 text-sm">
          <span className="font-medium">{t('tokens.name')}</span>
          <input className={inputClass} required maxLength={80} placeholder={t('tokens.namePlaceholder')} value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <fieldset className="space-y-1 text-sm">
          <legend className="font-medium">{t('tokens.allowedTo')}</legend>
          {offered.map((s) => (
            <label key={s} className="flex items-center gap-2">
              <input
                type="checkbox"
                checked={scopes.includes(s)}
                onChange={(e) => setScopes(e.target.checked ? [...scopes, s] : scopes.filter((x) => x !== s))}
              />
              {t(`tokens.scope.${s}`)}
            </label>
          ))}
        </fieldset>
        <label className="block space-y-1 text-sm">
          <span className="font-medium">{t('tokens.expiresAfter')}</span>
          <select className={inputClass} value={days ?? ''} onChange={(e) => setDays(e.target.value === '' ? null : Number(e.target.value))}>
            {EXPIRY_CHOICES.map((d) => (
              <option key={d ?? 'never'} value={d ?? ''}>
                {d === null ? t('tokens.never') : formatPeriod(d * 86400)}
              </option>
            ))}
          </select>
        </label>
        <Button type="submit" disabled={busy || scopes.length === 0 || name.trim() === ''}>
          {t('tokens.make')}
        </Button>
      </form>
    </Card>
  )
}

/** Code, not words: the same in every language. */
const BEARER = 'Authorization: Bearer …'
const cliExample = (origin: string) => `SHARESYNC_URL=${origin} SHARESYNC_TOKEN=… sharesync send FILE`

/** Offers a text as a file the browser saves (made here: the token never travels again). */
function download(filename: string, text: string, type: string) {
  const url = URL.createObjectURL(new Blob([text], { type }))
  const a = document.createElement('a')
  a.href = url
  a.download = filename
  a.click()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

function NewToken({ token }: { token: CreatedToken }) {
  const { t } = useTranslation()
  const origin = window.location.origin
  const canUpload = token.scopes.includes('upload')
  return (
    <Card className="space-y-3 border-emerald-500" aria-labelledby="created-heading">
      <h2 id="created-heading" className="text-lg font-semibold">
        {t('tokens.madeHeading', { name: token.name })}
      </h2>
      <Alert tone="success">{t('tokens.copyNow')}</Alert>
      <code data-testid="new-token" className="block rounded bg-slate-100 p-2 text-sm break-all dark:bg-slate-800">
        {token.token}
      </code>
      <div className="flex flex-wrap gap-2">
        <CopyButton text={token.token} label={t('tokens.copy')} />
        {canUpload && (
          <>
            <Button variant="secondary" onClick={() => download(`sharesync-${new URL(origin).hostname}.sxcu`, sharexConfig(origin, token.token), 'application/json')}>
              {t('tokens.sharex')}
            </Button>
            <Button variant="secondary" onClick={() => download('sharesync-flameshot.sh', flameshotScript(origin, token.token), 'text/x-shellscript')}>
              {t('tokens.flameshot')}
            </Button>
          </>
        )}
      </div>
      <p className="text-sm text-slate-600 dark:text-slate-400">
        {t('tokens.commandLine')} <code>{cliExample(origin)}</code>
      </p>
    </Card>
  )
}
