import type { ComponentPropsWithoutRef } from 'react'

export function Card({ className = '', ...rest }: ComponentPropsWithoutRef<'section'>) {
  return (
    <section
      className={`rounded-2xl border border-slate-200 bg-white p-4 shadow-sm sm:p-6 dark:border-slate-700 dark:bg-slate-900 ${className}`}
      {...rest}
    />
  )
}
