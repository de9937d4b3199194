import { TokenScope, type ApiToken, type CreatedToken, type TokensResponse } from '@sharesync/protocol'
import { useCallback, useEffect, useState, type FormEvent } from 'react'
import { Alert } from '../../components/alert'
import { Button, buttonClass } from '../../components/button'
import { Card } from '../../components/card'
import { CopyButton } from '../../components/copy-button'
import { usePageTitle } from '../../components/page-title'
import { api, errorMessage } from '../../lib/api'
import { formatDateTime } from '../../lib/format'
import { inputClass } from '../admin/admin-parts'
import { signInUrl } from '../auth/auth-api'
import { useMe } from '../auth/use-me'
import { flameshotScript, sharexConfig } from './uploader-configs'

const tokensApi = {
  list: async () => (await api<TokensResponse>('/api/me/tokens')).tokens,
  create: (body: { name: string; scopes: TokenScope[]; expiresInDays: number | null }) => api<CreatedToken>('/api/me/tokens', { method: 'POST', body }),
  revoke: (id: string) => api<void>(`/api/me/tokens/${encodeURIComponent(id)}`, { method: 'DELETE' }),
}

const SCOPE_LABELS: Record<TokenScope, string> = {
  upload: 'Upload (make links)',
  read: 'Read my shares and account',
  delete: 'Delete my shares',
  manage: 'Change my shares and notifications',
  admin: 'Administer the server',
}

const EXPIRY_CHOICES: { label: string; days: number | null }[] = [
  { label: '7 days', days: 7 },
  { label: '30 days', days: 30 },
  { label: '90 days', days: 90 },
  { label: '1 year', days: 365 },
  { label: 'Never (until revoked)', days: null },
]

/** Route /me/tokens: personal API tokens for scripts, the CLI, ShareX and Flameshot. */
export function TokensPage() {
  usePageTitle('API tokens')
  const me = useMe()
  if (me.status === 'loading') return <p className="text-slate-600 dark:text-slate-400">Loading…</p>
  if (me.status === 'error') return <Alert tone="error">Could not reach the server. Check your connection and reload.</Alert>
  if (!me.me) {
    return (
      <Card className="space-y-4">
        <h1 className="text-2xl font-bold">API tokens</h1>
        <p>Sign in to make tokens for scripts, the command-line client and screenshot tools.</p>
        <a href={signInUrl('/me/tokens')} className={buttonClass('primary')}>
          Sign in
        </a>
      </Card>
    )
  }
  return <Tokens isAdmin={me.me.role === 'admin'} />
}

function Tokens({ isAdmin }: { isAdmin: boolean }) {
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

  const revoke = async (t: ApiToken) => {
    if (!window.confirm(`Revoke "${t.name}"? Anything using it stops working at once.`)) return
    try {
      await tokensApi.revoke(t.id)
      if (created?.id === t.id) setCreated(null)
      await load()
    } catch (err) {
      setError(errorMessage(err))
    }
  }

  return (
    <div className="space-y-6">
      <h1 className="text-2xl font-bold">API tokens</h1>
      <p className="text-slate-700 dark:text-slate-300">
        A token lets a script act as you with <code>Authorization: Bearer …</code>, within the scopes you give it and your own limits. Tokens cannot make
        other tokens. See the <a className="underline" href="/docs/api">API reference</a>.
      </p>
      {error && <Alert tone="error">{error}</Alert>}
      {created && <NewToken token={created} />}
      <CreateForm
        isAdmin={isAdmin}
        onCreated={(t) => {
          setCreated(t)
          void load()
        }}
        onError={setError}
      />
      <Card className="space-y-3" aria-labelledby="tokens-heading">
        <h2 id="tokens-heading" className="text-lg font-semibold">
          Your tokens
        </h2>
        {tokens === null ? (
          <p>Loading…</p>
        ) : tokens.length === 0 ? (
          <p className="text-slate-600 dark:text-slate-400">No tokens yet.</p>
        ) : (
          <ul className="divide-y divide-slate-200 dark:divide-slate-700" data-testid="token-list">
            {tokens.map((t) => (
              <li key={t.id} className="flex flex-wrap items-center justify-between gap-2 py-3">
                <div className="min-w-0">
                  <p className="font-medium break-all">{t.name}</p>
                  <p className="text-sm text-slate-600 dark:text-slate-400">
                    <code>{t.prefix}…</code> · {t.scopes.join(', ')} · made {formatDateTime(t.createdAt)} ·{' '}
                    {t.expiresAt ? `expires ${formatDateTime(t.expiresAt)}` : 'never expires'} ·{' '}
                    {t.lastUsedAt ? `last used ${formatDateTime(t.lastUsedAt)}` : 'never used'}
                  </p>
                </div>
                <Button variant="danger" onClick={() => void revoke(t)}>
                  Revoke<span className="sr-only"> {t.name}</span>
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
        New token
      </h2>
      <form onSubmit={(e) => void submit(e)} className="space-y-3">
        <label className="block space-y-1 text-sm">
          <span className="font-medium">Name</span>
          <input className={inputClass} required maxLength={80} placeholder="laptop, ShareX, backup script…" value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <fieldset className="space-y-1 text-sm">
          <legend className="font-medium">Allowed to</legend>
          {offered.map((s) => (
            <label key={s} className="flex items-center gap-2">
              <input
                type="checkbox"
                checked={scopes.includes(s)}
                onChange={(e) => setScopes(e.target.checked ? [...scopes, s] : scopes.filter((x) => x !== s))}
              />
              {SCOPE_LABELS[s]}
            </label>
          ))}
        </fieldset>
        <label className="block space-y-1 text-sm">
          <span className="font-medium">Expires after</span>
          <select className={inputClass} value={days ?? ''} onChange={(e) => setDays(e.target.value === '' ? null : Number(e.target.value))}>
            {EXPIRY_CHOICES.map((c) => (
              <option key={c.label} value={c.days ?? ''}>
                {c.label}
              </option>
            ))}
          </select>
        </label>
        <Button type="submit" disabled={busy || scopes.length === 0 || name.trim() === ''}>
          Make token
        </Button>
      </form>
    </Card>
  )
}

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
  const origin = window.location.origin
  const canUpload = token.scopes.includes('upload')
  return (
    <Card className="space-y-3 border-emerald-500" aria-labelledby="created-heading">
      <h2 id="created-heading" className="text-lg font-semibold">
        Token “{token.name}” made
      </h2>
      <Alert tone="success">Copy it now: it is stored hashed and cannot be shown again.</Alert>
      <code data-testid="new-token" className="block rounded bg-slate-100 p-2 text-sm break-all dark:bg-slate-800">
        {token.token}
      </code>
      <div className="flex flex-wrap gap-2">
        <CopyButton text={token.token} label="Copy token" />
        {canUpload && (
          <>
            <Button variant="secondary" onClick={() => download(`sharesync-${new URL(origin).hostname}.sxcu`, sharexConfig(origin, token.token), 'application/json')}>
              Download ShareX uploader
            </Button>
            <Button variant="secondary" onClick={() => download('sharesync-flameshot.sh', flameshotScript(origin, token.token), 'text/x-shellscript')}>
              Download Flameshot script
            </Button>
          </>
        )}
      </div>
      <p className="text-sm text-slate-600 dark:text-slate-400">
        Command line: <code>SHARESYNC_URL={origin} SHARESYNC_TOKEN=… sharesync send FILE</code>
      </p>
    </Card>
  )
}
