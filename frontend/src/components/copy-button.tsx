import { useEffect, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { copyText } from '../lib/features'
import { Button, type ButtonVariant } from './button'

/** Copies `text`; says so (visibly and to screen readers) for two seconds. */
export function CopyButton({
  text,
  label,
  variant = 'primary',
  className = '',
}: {
  text: string
  label?: string
  variant?: ButtonVariant
  className?: string
}) {
  const { t } = useTranslation()
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle')
  useEffect(() => {
    if (state === 'idle') return
    const t = setTimeout(() => setState('idle'), 2000)
    return () => clearTimeout(t)
  }, [state])
  return (
    <Button
      variant={variant}
      className={className}
      onClick={async () => setState((await copyText(text)) ? 'copied' : 'failed')}
      aria-live="polite"
    >
      {state === 'copied' ? t('copy.copied') : state === 'failed' ? t('copy.pressCtrlC') : (label ?? t('copy.copyLink'))}
    </Button>
  )
}
