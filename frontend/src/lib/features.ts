/**
 * Feature detection. The app must work on a plain-http LAN address (http://192.168.x.y:8080), where
 * service workers, crypto.subtle, crypto.randomUUID and the async clipboard do not exist.
 */

export const isSecure = typeof window !== 'undefined' && window.isSecureContext === true

export function canUseServiceWorker(): boolean {
  return isSecure && typeof navigator !== 'undefined' && 'serviceWorker' in navigator
}

export function canShareNatively(data?: ShareData): boolean {
  if (typeof navigator === 'undefined' || typeof navigator.share !== 'function') return false
  return typeof navigator.canShare === 'function' && data ? navigator.canShare(data) : true
}

export function hasSubtleCrypto(): boolean {
  return isSecure && typeof crypto !== 'undefined' && typeof crypto.subtle !== 'undefined'
}

/** A random id that works without a secure context (getRandomValues exists everywhere; randomUUID does not). */
export function randomId(bytes = 16): string {
  const buf = new Uint8Array(bytes)
  if (typeof crypto !== 'undefined' && typeof crypto.getRandomValues === 'function') crypto.getRandomValues(buf)
  else for (let i = 0; i < bytes; i++) buf[i] = Math.floor(Math.random() * 256)
  return Array.from(buf, (b) => b.toString(16).padStart(2, '0')).join('')
}

/** Copies text: the async clipboard where allowed, else a hidden textarea + execCommand (plain http). */
export async function copyText(text: string): Promise<boolean> {
  if (isSecure && navigator.clipboard?.writeText) {
    try {
      await navigator.clipboard.writeText(text)
      return true
    } catch {
      // Permission denied or document not focused: fall through to the legacy path.
    }
  }
  const area = document.createElement('textarea')
  area.value = text
  area.setAttribute('readonly', '')
  area.style.position = 'fixed'
  area.style.opacity = '0'
  document.body.appendChild(area)
  area.select()
  let ok = false
  try {
    ok = document.execCommand('copy')
  } catch {
    ok = false
  }
  area.remove()
  return ok
}

/** localStorage that never throws (private mode, storage full, disabled cookies). */
export const safeStorage = {
  get(key: string): string | null {
    try {
      return window.localStorage.getItem(key)
    } catch {
      return null
    }
  },
  set(key: string, value: string): boolean {
    try {
      window.localStorage.setItem(key, value)
      return true
    } catch {
      return false
    }
  },
  remove(key: string): void {
    try {
      window.localStorage.removeItem(key)
    } catch {
      // nothing to do: storage is unavailable
    }
  },
}

/** JSON value from localStorage, validated by the caller's guard. */
export function readJson<T>(key: string, guard: (v: unknown) => v is T): T | null {
  const raw = safeStorage.get(key)
  if (!raw) return null
  try {
    const value: unknown = JSON.parse(raw)
    return guard(value) ? value : null
  } catch {
    return null
  }
}

export function writeJson(key: string, value: unknown): boolean {
  return safeStorage.set(key, JSON.stringify(value))
}
