import { useEffect } from 'react'

/**
 * While `active` (bytes are moving), reloading or closing the page asks "Leave page?" first; the
 * browser shows its own wording. Removed as soon as nothing is in flight.
 */
export function useLeaveGuard(active: boolean): void {
  useEffect(() => {
    if (!active) return
    const ask = (e: BeforeUnloadEvent) => {
      e.preventDefault()
      // Older browsers only ask when returnValue is set.
      e.returnValue = ''
    }
    window.addEventListener('beforeunload', ask)
    return () => window.removeEventListener('beforeunload', ask)
  }, [active])
}
