/** An accessible progress bar: role=progressbar with aria-valuenow in percent. */
export function ProgressBar({ value, label, size = 'md' }: { value: number; label: string; size?: 'sm' | 'md' }) {
  const pct = Math.max(0, Math.min(100, Number.isFinite(value) ? value : 0))
  const rounded = Math.floor(pct)
  return (
    <div
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={rounded}
      aria-valuetext={`${rounded} %`}
      className={`w-full overflow-hidden rounded-full bg-slate-200 dark:bg-slate-700 ${size === 'sm' ? 'h-1.5' : 'h-3'}`}
    >
      {/* Scaled, not sized: a transform animates on the compositor, whereas an animated width lays
          out and paints the page's main thread 60 times a second while a transfer runs. */}
      <div className="h-full origin-left bg-indigo-600 transition-transform duration-300 dark:bg-indigo-400" style={{ transform: `scaleX(${pct / 100})` }} />
    </div>
  )
}
