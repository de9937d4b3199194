import { GlobalWorkerOptions, getDocument, type PDFDocumentProxy } from 'pdfjs-dist'
import workerUrl from 'pdfjs-dist/build/pdf.worker.min.mjs?url'
import { useEffect, useRef, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { Button } from '../../components/button'

// pdf.js parses the document in its own worker, bundled by Vite and served from this origin.
GlobalWorkerOptions.workerSrc = workerUrl

/**
 * A PDF drawn by pdf.js onto a canvas, page by page: the document is parsed as data, never handed to
 * the browser's own viewer or put in a frame on this origin; its scripts, forms and links do nothing.
 */
export default function PdfPreview({ url, name }: { url: string; name: string }) {
  const { t } = useTranslation()
  const canvas = useRef<HTMLCanvasElement>(null)
  const [doc, setDoc] = useState<PDFDocumentProxy | null>(null)
  const [page, setPage] = useState(1)
  const [error, setError] = useState<string | null>(null)

  useEffect(() => {
    const task = getDocument({ url, withCredentials: false, enableXfa: false, useSystemFonts: true })
    task.promise.then(setDoc, () => setError(t('preview.pdfUnreadable')))
    return () => void task.destroy()
  }, [url])

  useEffect(() => {
    if (!doc || !canvas.current) return
    let cancelled = false
    let render: { cancel(): void } | null = null
    void doc.getPage(page).then((p) => {
      if (cancelled || !canvas.current) return
      const width = canvas.current.parentElement?.clientWidth ?? 600
      const base = p.getViewport({ scale: 1 })
      const scale = Math.min(2, (width / base.width) * (window.devicePixelRatio || 1))
      const viewport = p.getViewport({ scale })
      canvas.current.width = Math.floor(viewport.width)
      canvas.current.height = Math.floor(viewport.height)
      const task = p.render({ canvas: canvas.current, viewport })
      render = task
      task.promise.catch(() => undefined)
    })
    return () => {
      cancelled = true
      render?.cancel()
    }
  }, [doc, page])

  if (error) return <p className="text-sm text-red-700 dark:text-red-300">{error}</p>
  return (
    <div className="space-y-2">
      <canvas
        ref={canvas}
        data-testid="preview-pdf"
        aria-label={t('preview.pageOfName', { page, name })}
        className="h-auto w-full rounded-lg border border-slate-200 bg-white dark:border-slate-700"
      />
      {doc && doc.numPages > 1 && (
        <div className="flex items-center gap-3 text-sm">
          <Button variant="secondary" onClick={() => setPage((n) => Math.max(1, n - 1))} disabled={page <= 1}>
            {t('preview.previousPage')}
          </Button>
          <span>{t('preview.pageOf', { page, pages: doc.numPages })}</span>
          <Button variant="secondary" onClick={() => setPage((n) => Math.min(doc.numPages, n + 1))} disabled={page >= doc.numPages}>
            {t('preview.nextPage')}
          </Button>
        </div>
      )}
    </div>
  )
}
