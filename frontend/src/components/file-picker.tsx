import { useId, useRef, type ReactNode } from 'react'
import { useTranslation } from 'react-i18next'
import { buttonClass, type ButtonVariant } from './button'

/**
 * A real <input type=file> behind a button-looking label: keyboard, screen readers and
 * automation (setInputFiles) all reach the native control.
 */
export function FilePicker({
  onFiles,
  multiple = true,
  children,
  variant = 'primary',
  className = '',
  accept,
  testId,
  directory = false,
}: {
  onFiles: (files: File[]) => void
  multiple?: boolean
  children?: ReactNode
  variant?: ButtonVariant
  className?: string
  accept?: string
  testId?: string
  /** pick a whole folder (its files keep their tree: webkitRelativePath) */
  directory?: boolean
}) {
  const { t } = useTranslation()
  const id = useId()
  const input = useRef<HTMLInputElement>(null)
  return (
    <>
      <input
        ref={input}
        id={id}
        type="file"
        multiple={multiple}
        accept={accept}
        data-testid={testId}
        {...(directory ? { webkitdirectory: '', directory: '' } : {})}
        className="peer sr-only"
        onChange={(e) => {
          const files = Array.from(e.currentTarget.files ?? [])
          // Reset so picking the same file again still fires change.
          e.currentTarget.value = ''
          if (files.length) onFiles(files)
        }}
      />
      <label
        htmlFor={id}
        className={`${buttonClass(variant, className)} cursor-pointer peer-focus-visible:outline-2 peer-focus-visible:outline-offset-2 peer-focus-visible:outline-indigo-500`}
      >
        {children ?? t('common.chooseFiles')}
      </label>
    </>
  )
}

/** Full-window overlay shown while files are dragged over the page. */
export function DropOverlay({ visible, text }: { visible: boolean; text?: string }) {
  const { t } = useTranslation()
  if (!visible) return null
  return (
    <div
      aria-hidden="true"
      className="pointer-events-none fixed inset-0 z-40 flex items-center justify-center bg-indigo-600/20 backdrop-blur-sm"
    >
      <div className="rounded-2xl border-2 border-dashed border-indigo-600 bg-white px-8 py-6 text-lg font-semibold text-indigo-700 dark:bg-slate-900 dark:text-indigo-300">
        {text ?? t('common.dropToShare')}
      </div>
    </div>
  )
}
