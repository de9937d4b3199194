import { describe, expect, it } from 'vitest'
import { MEMORY_LIMIT, saveKind } from './save-kind'

const GiB = 2 ** 30
const everything = { serviceWorker: true, savePicker: true, opfs: true }
const plainHttp = { serviceWorker: false, savePicker: false, opfs: false }

describe('where a decrypted file is saved', () => {
  it('a secure origin streams into the browser downloads through the service worker, whatever the size', () => {
    expect(saveKind(everything, 50 * GiB)).toBe('download')
  })

  it('without a service worker: a picked file, else OPFS', () => {
    expect(saveKind({ ...everything, serviceWorker: false }, 5 * GiB)).toBe('picked')
    expect(saveKind({ serviceWorker: false, savePicker: false, opfs: true }, 5 * GiB)).toBe('opfs')
  })

  it('a plain-http origin decrypts in memory up to the limit, and refuses a larger file before downloading anything', () => {
    expect(saveKind(plainHttp, MEMORY_LIMIT)).toBe('memory')
    expect(saveKind(plainHttp, MEMORY_LIMIT + 1)).toBe('too_large')
  })

  it('the diagnostics switch picks a path only where it exists', () => {
    expect(saveKind(everything, 10, 'opfs')).toBe('opfs')
    expect(saveKind(everything, 10, 'memory')).toBe('memory')
    expect(saveKind(plainHttp, 10, 'download')).toBe('memory')
  })
})
