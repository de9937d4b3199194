import { useEffect, useRef } from 'react'

/**
 * A ref that always holds the value of the last render: for an effect or a timer that must read
 * the newest value without restarting whenever it changes.
 */
export function useLatest<T>(value: T): { readonly current: T } {
  const ref = useRef(value)
  useEffect(() => {
    ref.current = value
  })
  return ref
}
