/** Where a decrypted file can go in this browser (pure: the tests run it without a browser). */

export type SaveKind = 'download' | 'picked' | 'opfs' | 'memory'
/** A diagnostics switch (and what the end-to-end tests use to reach each path in Chromium). */
export type ForcedSave = 'download' | 'opfs' | 'memory'
export const FORCED_SAVE_KEY = 'sharesync.cloud.sink'

/** The largest file decrypted into memory (plain-http origins, where no streaming target exists). */
export const MEMORY_LIMIT = 512 * 1024 * 1024

export interface SaveCapabilities {
  serviceWorker: boolean
  savePicker: boolean
  opfs: boolean
}

/** Where a file of `size` bytes would be saved here; 'too_large' when only memory is left and it does not fit. */
export function saveKind(caps: SaveCapabilities, size: number, forced?: ForcedSave): SaveKind | 'too_large' {
  if (forced === 'download' && caps.serviceWorker) return 'download'
  if (forced === 'opfs' && caps.opfs) return 'opfs'
  if (forced === 'memory') return size <= MEMORY_LIMIT ? 'memory' : 'too_large'
  if (caps.serviceWorker) return 'download'
  if (caps.savePicker) return 'picked'
  if (caps.opfs) return 'opfs'
  return size <= MEMORY_LIMIT ? 'memory' : 'too_large'
}
