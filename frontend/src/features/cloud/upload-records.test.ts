import { describe, expect, it } from 'vitest'
import { sameFile, type PendingFile } from './upload-records'

const pending: PendingFile = {
  fileId: 'f',
  name: 'video.mp4',
  size: 1000,
  type: 'video/mp4',
  lastModified: 1_700_000_000_000,
  partSize: 5,
  partCount: 1,
}

describe('resuming matches only the very same file', () => {
  it('same name, size and modification time resume', () => {
    expect(sameFile(new File([new Uint8Array(1000)], 'video.mp4', { lastModified: pending.lastModified }), pending)).toBe(true)
  })
  it('a different size, name or date does not (its parts would corrupt the upload)', () => {
    expect(sameFile(new File([new Uint8Array(999)], 'video.mp4', { lastModified: pending.lastModified }), pending)).toBe(false)
    expect(sameFile(new File([new Uint8Array(1000)], 'other.mp4', { lastModified: pending.lastModified }), pending)).toBe(false)
    expect(sameFile(new File([new Uint8Array(1000)], 'video.mp4', { lastModified: pending.lastModified + 1 }), pending)).toBe(false)
  })
})
