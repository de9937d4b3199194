import { useEffect } from 'react'

/** Sets document.title (screen readers announce it on navigation). */
export function usePageTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} · ShareSync` : 'ShareSync'
  }, [title])
}
