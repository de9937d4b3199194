import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import { Alert } from '../../components/alert'
import { Button } from '../../components/button'
import { Card } from '../../components/card'
import { FilePicker } from '../../components/file-picker'
import { formatBytes } from '../../lib/format'
import { sameFile, type PendingUpload } from './upload-records'

/**
 * After a reload the browser has forgotten the files: ask for the ones the server still needs
 * ("pick file X again"; files it holds complete are not asked for), match them by name, size and
 * date, then continue from the parts the server already holds.
 */
export function ResumeCard({
  pending,
  needed,
  onResume,
  onDiscard,
}: {
  pending: PendingUpload
  /** indices of the files to pick again */
  needed: number[]
  /** the files, aligned with pending.files: null where the server needs nothing */
  onResume: (files: (File | null)[]) => void
  onDiscard: () => void
}) {
  const { t } = useTranslation()
  const [picked, setPicked] = useState<(File | null)[]>(() => pending.files.map(() => null))
  const [mismatch, setMismatch] = useState<string[]>([])
  const wanted = (i: number) => needed.includes(i)

  const accept = (files: File[]) => {
    const next = [...picked]
    const unknown: string[] = []
    for (const file of files) {
      const i = pending.files.findIndex((p, idx) => wanted(idx) && next[idx] === null && sameFile(file, p))
      if (i >= 0) next[i] = file
      else unknown.push(file.name)
    }
    setPicked(next)
    setMismatch(unknown)
    if (next.every((f, i) => f !== null || !wanted(i))) onResume(next)
  }

  const missing = pending.files.filter((_, i) => wanted(i) && picked[i] === null)
  return (
    <Card aria-labelledby="resume-heading" className="space-y-4 ring-2 ring-amber-400 dark:ring-amber-600">
      <h2 id="resume-heading" className="text-lg font-bold">
        {t('resume.heading')}
      </h2>
      <p className="text-sm text-slate-700 dark:text-slate-300">{t('resume.text', { count: missing.length })}</p>
      <ul className="list-inside list-disc text-sm" aria-label={t('resume.filesToPick')}>
        {missing.map((f) => (
          <li key={f.fileId}>
            <span className="font-semibold">{f.name}</span> ({formatBytes(f.size)})
          </li>
        ))}
      </ul>
      {mismatch.length > 0 && (
        <Alert tone="warning">{t('resume.mismatch', { names: mismatch.join(', ') })}</Alert>
      )}
      <div className="flex flex-wrap gap-3">
        <FilePicker onFiles={accept} testId="resume-input">
          {missing.length === 1 ? t('resume.pickOne', { name: missing[0]!.name }) : t('resume.pickAll')}
        </FilePicker>
        <Button variant="ghost" onClick={onDiscard}>
          {t('resume.discard')}
        </Button>
      </div>
    </Card>
  )
}
