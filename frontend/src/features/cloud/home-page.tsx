import { useEffect, useRef, useState } from 'react'
import { Trans, useTranslation } from 'react-i18next'
import { useLocation, useSearchParams } from 'react-router-dom'
import { Alert } from '../../components/alert'
import { Button, ButtonLink } from '../../components/button'
import { Link } from 'react-router-dom'
import { Card } from '../../components/card'
import { DropOverlay, FilePicker } from '../../components/file-picker'
import { usePageTitle } from '../../components/page-title'
import { usePageFileInput } from '../../lib/file-input'
import { takeSharedFiles } from '../../lib/share-target'
import { usePublicConfig } from '../../lib/use-public-config'
import { cloudApi } from './cloud-api'
import { keyStore } from './encryption/key-store'
import { MyLinks } from './my-links'
import { ResumeCard } from './resume-card'
import { UploadOptions } from './upload-options'
import { UploadProgress } from './upload-progress'
import { ownedLinks, pendingUploads, sameFile, type PendingUpload } from './upload-records'
import { useUpload } from './use-upload'
import { useViewerLimits } from './use-viewer-limits'

/**
 * Home: the two ways to send ("Create a link" / "Send directly"), then, once files are chosen (picker,
 * drop anywhere, paste, or the phone's share sheet), the link options, the upload and its progress.
 */
export function HomePage() {
  const { t } = useTranslation()
  const { config, error: configError } = usePublicConfig()
  const limits = useViewerLimits(config)
  const upload = useUpload()
  const [params, setParams] = useSearchParams()
  const [files, setFiles] = useState<File[]>([])
  const [pending, setPending] = useState<PendingUpload | null>(() => pendingUploads.get())
  const [links] = useState(() => ownedLinks.all())
  const location = useLocation()
  // A link whose upload was cancelled on its result page comes back here saying so.
  const [notice, setNotice] = useState<string | null>(() => ((location.state as { cancelled?: boolean } | null)?.cancelled ? t('home.cancelled') : null))
  /** Indices of the interrupted upload's files the server still needs (all, until it has answered). */
  const [needed, setNeeded] = useState<number[] | null>(null)
  const uploading = upload.snapshot !== null
  const stillNeeded = pending ? (needed ?? pending.files.map((_, i) => i)) : []

  // After a reload, the server's upload state decides: nothing to pick again for a finalized share
  // or one whose files are all complete, and only the incomplete files otherwise.
  const checked = useRef<string | null>(null)
  useEffect(() => {
    if (!pending || checked.current === pending.shareId) return
    checked.current = pending.shareId
    void upload.check(pending).then((answer) => {
      if (answer === 'gone') {
        setPending(null)
        setNotice(t('home.resumeGone'))
      } else if (answer === 'resumed') setPending(null)
      else if (answer) setNeeded(answer.needed)
    })
  }, [pending, upload, t])

  const addFiles = (more: File[]) => {
    if (uploading) return
    // The interrupted upload's files dropped or pasted again: resume it rather than start over.
    if (pending && files.length === 0) {
      const matched = pending.files.map((p, i) => (stillNeeded.includes(i) ? (more.find((f) => sameFile(f, p)) ?? undefined) : null))
      if (matched.every((f) => f !== undefined)) {
        setPending(null)
        void upload.resume(pending, matched)
        return
      }
    }
    setFiles((prev) => [...prev, ...more])
  }
  // Pasted text is not a file: the page offers to share it as a text.
  const [pastedText, setPastedText] = useState<string | null>(null)
  const { dragging } = usePageFileInput(addFiles, !uploading, setPastedText)

  usePageTitle(uploading ? t('home.titleUploading') : files.length ? t('home.createLink') : '')

  // Files shared from another app through the Web Share Target (see public/sw.js).
  useEffect(() => {
    if (params.get('share-target') === null) return
    setParams({}, { replace: true })
    takeSharedFiles().then(
      (shared) => shared.length && setFiles((prev) => [...prev, ...shared]),
      () => undefined,
    )
  }, [params, setParams])

  const discardPending = async () => {
    if (!pending) return
    pendingUploads.clear()
    setPending(null)
    void keyStore.remove(pending.shareId)
    await cloudApi.deleteShare(pending.shareId, pending.ownerToken).catch(() => undefined)
  }

  if (upload.snapshot) {
    return (
      <div className="space-y-6">
        <UploadProgress
          snapshot={upload.snapshot}
          error={upload.error}
          // Only while the link is being made (the result page opens at once): nothing to cancel yet.
          onCancel={() => upload.reset()}
        />
      </div>
    )
  }

  if (files.length > 0) {
    return (
      <>
        <DropOverlay visible={dragging} text={t('home.dropToAdd')} />
        {notice && (
          <Alert tone="info" className="mb-4">
            {notice}
          </Alert>
        )}
        <UploadOptions
          files={files}
          config={config}
          limits={limits}
          error={upload.error ?? (configError ? t('home.configError') : null)}
          busy={upload.busy}
          onAddFiles={addFiles}
          onRemove={(i) => setFiles((prev) => prev.filter((_, j) => j !== i))}
          onClear={() => {
            setFiles([])
            upload.reset()
          }}
          onSubmit={(choice) => {
            setNotice(null)
            void upload.start(files, choice)
          }}
        />
      </>
    )
  }

  return (
    <div className="space-y-6">
      <DropOverlay visible={dragging} />
      {notice && <Alert tone="info">{notice}</Alert>}
      <div className="space-y-2 text-center sm:text-left">
        <h1 className="text-3xl font-bold tracking-tight sm:text-4xl">{t('home.heading')}</h1>
        <p className="text-slate-700 dark:text-slate-300">{t('home.intro')}</p>
      </div>
      {pastedText !== null && (
        <Alert tone="info">
          <div className="flex flex-wrap items-center gap-3" data-testid="pasted-text">
            <p className="grow">
              {t('home.pastedText', { chars: pastedText.length.toLocaleString() })}
            </p>
            <ButtonLink to="/text" state={{ text: pastedText }}>
              {t('home.shareThisText')}
            </ButtonLink>
            <Button variant="ghost" onClick={() => setPastedText(null)}>
              {t('home.dismiss')}
            </Button>
          </div>
        </Alert>
      )}
      {pending && (
        <ResumeCard
          pending={pending}
          needed={stillNeeded}
          onResume={(picked) => {
            setPending(null)
            void upload.resume(pending, picked)
          }}
          onDiscard={() => void discardPending()}
        />
      )}
      <div className="grid gap-4 sm:grid-cols-2">
        <Card aria-labelledby="choice-link" className="flex flex-col gap-4">
          <div className="space-y-1">
            <h2 id="choice-link" className="text-xl font-bold">
              {t('home.createLink')}
            </h2>
            <p className="text-sm text-slate-700 dark:text-slate-300">{t('home.createLinkText')}</p>
          </div>
          <div className="mt-auto space-y-2">
            <FilePicker onFiles={addFiles} className="w-full" testId="file-input">
              {t('common.chooseFiles')}
            </FilePicker>
            <FilePicker onFiles={addFiles} className="w-full" variant="secondary" directory testId="folder-input">
              {t('home.chooseFolder')}
            </FilePicker>
            {/* A phone has nothing to drop files from, nor Ctrl+V: it is offered the text share only (<0> is hidden there). */}
            <p className="text-center text-xs text-slate-600 dark:text-slate-400" data-testid="picker-hint">
              <Trans
                i18nKey="home.dropOrPaste"
                components={[
                  <span key="drop" className="hidden sm:inline" />,
                  <Link key="text" to="/text" className="font-medium text-indigo-700 underline dark:text-indigo-300" />,
                ]}
              />
            </p>
          </div>
        </Card>
        <Card aria-labelledby="choice-direct" className="flex flex-col gap-4">
          <div className="space-y-1">
            <h2 id="choice-direct" className="text-xl font-bold">
              {t('home.sendDirectly')}
            </h2>
            <p className="text-sm text-slate-700 dark:text-slate-300">{t('home.sendDirectlyText')}</p>
          </div>
          <ButtonLink to="/p2p" variant="secondary" className="mt-auto w-full">
            {t('home.openRoom')}
          </ButtonLink>
        </Card>
      </div>
      {configError !== null && <Alert tone="error">{t('home.unreachable')}</Alert>}
      <MyLinks links={links} />
    </div>
  )
}
