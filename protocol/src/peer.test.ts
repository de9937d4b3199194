import { describe, expect, it } from 'vitest'
import { MAX_THUMBNAIL_CHARS, PeerMessage } from './peer'

const offerWith = (thumb: unknown) => ({
  t: 'offer',
  id: 'transfer-1',
  files: [{ id: '0', name: 'cat.jpg', size: 10, type: 'image/jpeg', thumb }],
})
const thumbOf = (raw: unknown) => {
  const parsed = PeerMessage.safeParse(raw)
  if (!parsed.success || parsed.data.t !== 'offer') throw new Error('the offer itself was refused')
  return parsed.data.files[0]!.thumb
}

describe('offer thumbnails from a peer', () => {
  it('a small JPEG, PNG or WebP data URL is kept', () => {
    for (const type of ['jpeg', 'png', 'webp'])
      expect(thumbOf(offerWith(`data:image/${type};base64,/9j/4AAQ==`))).toBe(`data:image/${type};base64,/9j/4AAQ==`)
  })

  it('SVG, HTML, script URLs, other types and oversized images are dropped, and the offer still arrives', () => {
    const hostile = [
      'data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=',
      'data:image/svg+xml,<svg onload=alert(1)>',
      'data:text/html;base64,PHNjcmlwdD4=',
      'javascript:alert(1)',
      'https://evil.example/pixel.png',
      'data:image/jpeg;base64,/9j/<img>',
      `data:image/jpeg;base64,${'A'.repeat(MAX_THUMBNAIL_CHARS)}`,
      12345,
      { src: 'x' },
    ]
    for (const thumb of hostile) expect(thumbOf(offerWith(thumb)), String(thumb).slice(0, 40)).toBeUndefined()
  })
})

describe('bye from a peer', () => {
  it('parses as bye alone: extra fields are stripped, a wrong type is refused', () => {
    expect(PeerMessage.safeParse({ t: 'bye' }).data).toEqual({ t: 'bye' })
    expect(PeerMessage.safeParse({ t: 'bye', id: 'x'.repeat(100_000), peerId: 'someone-else' }).data).toEqual({ t: 'bye' })
    expect(PeerMessage.safeParse({ t: 'Bye' }).success).toBe(false)
    expect(PeerMessage.safeParse({ t: ['bye'] }).success).toBe(false)
  })
})
