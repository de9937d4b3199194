import { describe, expect, it } from 'vitest'
import { cleanFilename, zipEntryNames, zipFileName } from './zip-names'

describe('zip names', () => {
  it('keeps folders and makes names unique case-insensitively, before the extension', () => {
    const names = zipEntryNames([
      { name: 'notes.txt', path: 'a' },
      { name: 'Notes.txt', path: 'a' },
      { name: 'notes.txt', path: 'b' },
      { name: 'README' },
      { name: 'readme' },
    ])
    expect(names).toEqual(['a/notes.txt', 'a/Notes (2).txt', 'b/notes.txt', 'README', 'readme (2)'])
  })

  it('a name can never climb out of its folder or carry a drive letter or control characters', () => {
    expect(zipEntryNames([{ name: '..' }, { name: '.' }, { name: 'x/../../etc' }, { name: 'C:evil' }, { name: 'a\u0000b\u202e' }])).toEqual(
      ['_', '_ (2)', 'x_.._.._etc', 'C_evil', 'ab'],
    )
  })

  it('the zip is named after the one top folder, else after the share', () => {
    expect(zipFileName('abcdefghijkl', [{ path: 'photos/2026' }, { path: 'photos' }])).toBe('photos.zip')
    expect(zipFileName('abcdefghijkl', [{ path: 'photos' }, { path: 'docs' }])).toBe('share-abcdefgh.zip')
    expect(zipFileName('abcdefghijkl', [{}, { path: '' }])).toBe('share-abcdefgh.zip')
  })

  it('cleanFilename replaces lone surrogates and caps at 255 code points', () => {
    expect(cleanFilename('a\ud800b')).toBe('a\ufffdb')
    expect(Array.from(cleanFilename('😀'.repeat(300)))).toHaveLength(255)
    expect(cleanFilename('\u0001')).toBe('download')
  })
})
