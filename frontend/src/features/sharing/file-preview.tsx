import type { PreviewResponse } from '@sharesync/protocol'
import { lazy, Suspense, useEffect, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { Alert } from '../../components/alert'
import { i18n } from '../../i18n'
import { errorMessage } from '../../lib/api'
import { formatBytes } from '../../lib/format'
import { cloudApi } from '../cloud/cloud-api'
import { CodeView } from './code-view'

const PdfPreview = lazy(() => import('./pdf-preview'))

type State = { kind: 'loading' } | { kind: 'failed'; message: string } | { kind: 'ready'; grant: PreviewResponse; text?: string }

/**
 * One file's preview on the share page. It asks for a preview grant (never counted as a download),
 * then shows the bytes the way that cannot run them: media elements for images, video and audio,
 * pdf.js for PDFs, and text as text. The server never offers a preview of HTML, SVG or XML.
 */
export function FilePreview({
  shareId,
  file,
  password,
}: {
  shareId: string
  file: { id: string; name: string; size: number }
  password?: string
}) {
  const { t } = useTranslation()
  const [state, setState] = useState<State>({ kind: 'loading' })

  useEffect(() => {
    let live = true
    void (async () => {
      try {
        const grant = await cloudApi.preview(shareId, file.id, password)
        if (grant.kind !== 'text') return live && setState({ kind: 'ready', grant })
        const res = await fetch(grant.url, { credentials: 'same-origin', cache: 'no-store' })
        if (!res.ok) throw new Error(i18n.t('preview.loadFailed', { status: res.status }))
        // Decoded as UTF-8 text; a cut in the middle of a character shows a replacement mark, nothing else.
        const text = new TextDecoder('utf-8', { fatal: false }).decode(await res.arrayBuffer())
        if (live) setState({ kind: 'ready', grant, text })
      } catch (err) {
        if (live) setState({ kind: 'failed', message: errorMessage(err) })
      }
    })()
    return () => {
      live = false
    }
  }, [shareId, file.id, password])

  if (state.kind === 'loading') {
    return (
      <p role="status" className="text-sm text-slate-600 dark:text-slate-400">
        {t('preview.loading')}
      </p>
    )
  }
  if (state.kind === 'failed') return <Alert tone="warning">{state.message}</Alert>
  const { grant } = state
  return (
    <div data-testid="preview" data-kind={grant.kind} className="space-y-2">
      {grant.kind === 'image' && (
        <img src={grant.url} alt={t('share.previewContentOf', { name: file.name })} className="mx-auto max-h-[28rem] max-w-full rounded-lg object-contain" />
      )}
      {grant.kind === 'video' && (
        <video
          src={grant.url}
          controls
          preload="metadata"
          className="max-h-[28rem] w-full rounded-lg bg-black"
          aria-label={t('share.previewContentOf', { name: file.name })}
        />
      )}
      {grant.kind === 'audio' && (
        <audio src={grant.url} controls preload="metadata" className="w-full" aria-label={t('share.previewContentOf', { name: file.name })} />
      )}
      {grant.kind === 'pdf' && (
        <Suspense fallback={<p role="status">{t('preview.loadingPdf')}</p>}>
          <PdfPreview url={grant.url} name={file.name} />
        </Suspense>
      )}
      {grant.kind === 'text' && <CodeView text={state.text ?? ''} name={file.name} />}
      {grant.partial && (
        <p className="text-xs text-slate-600 dark:text-slate-400">
          {t('preview.partial', { first: formatBytes(grant.bytes), size: formatBytes(file.size) })}
        </p>
      )}
    </div>
  )
}
