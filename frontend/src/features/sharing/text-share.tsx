import type { ShareMetadata } from '@sharesync/protocol'
import { useEffect, useRef, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { Alert } from '../../components/alert'
import { Button } from '../../components/button'
import { Card } from '../../components/card'
import { CopyButton } from '../../components/copy-button'
import { usePageTitle } from '../../components/page-title'
import { ApiError, errorMessage } from '../../lib/api'
import { formatDateTime, formatExpiry } from '../../lib/format'
import { LinkGone } from '../cloud/link-gone'
import { Note } from './note'

type State =
  | { kind: 'waiting' }
  | { kind: 'revealing' }
  | { kind: 'shown'; text: string; note?: string; left: number | null }
  | { kind: 'gone' }
  | { kind: 'error'; message: string }

/** Where the text comes from: the server (plain), or the envelope decrypted in this browser. */
export type RevealText = () => Promise<{ text: string; note?: string; downloadsLeft: number | null }>

/**
 * A text-only share: a snippet, a password or a link, shown as text with a copy button. Each showing
 * is a download: a text with a view limit waits for a click (a link preview must not use it up) and
 * says how many views are left; the last one is gone from the server once shown.
 */
export function TextShare({ meta, reveal, encrypted = false }: { meta: ShareMetadata; reveal: RevealText; encrypted?: boolean }) {
  const { t } = useTranslation()
  const limited = typeof meta.downloadsLeft === 'number'
  const [state, setState] = useState<State>({ kind: limited ? 'waiting' : 'revealing' })
  const started = useRef(false)
  usePageTitle(t('text.heading'))

  const show = async () => {
    setState({ kind: 'revealing' })
    try {
      const got = await reveal()
      setState({ kind: 'shown', text: got.text, ...(got.note ? { note: got.note } : {}), left: got.downloadsLeft })
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) setState({ kind: 'gone' })
      else setState({ kind: 'error', message: errorMessage(err) })
    }
  }

  useEffect(() => {
    if (limited || started.current) return
    started.current = true
    void show()
    // An unlimited text is shown at once; a limited one waits for the click.
  }, [])

  if (state.kind === 'gone') return <LinkGone />
  const left = meta.downloadsLeft
  return (
    <Card aria-labelledby="text-heading" className="mx-auto max-w-2xl space-y-4">
      <div className="space-y-1">
        <h1 id="text-heading" className="text-2xl font-bold">
          {t('text.heading')}
        </h1>
        <p className="text-sm text-slate-700 dark:text-slate-300">
          {encrypted && (
            <>
              <span data-testid="encrypted-badge" className="font-semibold text-emerald-700 dark:text-emerald-300">
                {t('text.encrypted')}
              </span>
              {' · '}
            </>
          )}
          <span title={formatDateTime(meta.expiresAt)}>{t('common.expires', { when: formatExpiry(meta.expiresAt) })}</span>
          {' · '}
          <span data-testid="downloads-left">
            {state.kind === 'shown'
              ? state.left === null
                ? t('text.anyTimes')
                : state.left === 0
                  ? t('text.lastView')
                  : t('text.moreViews', { count: state.left })
              : left === null || left === undefined
                ? t('text.anyTimes')
                : t('text.viewsLeft', { count: left })}
          </span>
        </p>
      </div>
      {state.kind === 'waiting' && (
        <div className="space-y-3">
          <p className="text-slate-700 dark:text-slate-300">
            {left === 1 ? t('text.once') : t('text.usesOne', { count: left ?? 0 })}
          </p>
          <Button onClick={() => void show()}>{t('text.show')}</Button>
        </div>
      )}
      {state.kind === 'revealing' && (
        <p role="status" className="text-slate-700 dark:text-slate-300">
          {encrypted ? t('text.decrypting') : t('common.loading')}
        </p>
      )}
      {state.kind === 'error' && <Alert tone="error">{state.message}</Alert>}
      {state.kind === 'shown' && (
        <div className="space-y-3">
          {state.note && <Note text={state.note} />}
          <pre
            data-testid="shared-text"
            className="max-h-[32rem] overflow-auto whitespace-pre-wrap break-words rounded-xl border border-slate-200 bg-slate-50 p-3 font-mono text-sm text-slate-900 dark:border-slate-700 dark:bg-slate-950 dark:text-slate-100"
          >
            {state.text}
          </pre>
          <CopyButton text={state.text} label={t('text.copy')} />
        </div>
      )}
    </Card>
  )
}
