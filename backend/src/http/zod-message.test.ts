import { AdminSettings, CreateShareRequest, RoomSecret, ShareOptionsFromStrings } from '@sharesync/protocol'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { toAppError } from './error-middleware'
import { fieldInWords, zodSentence } from './zod-message'

const messageFor = (schema: z.ZodType, input: unknown) => {
  const parsed = schema.safeParse(input)
  if (parsed.success) throw new Error('expected a refusal')
  return zodSentence(parsed.error)
}

describe('zod errors in words a person can act on', () => {
  it('names the field in words, never as a dotted path', () => {
    expect(fieldInWords(['anonymous', 'maxExpiry'])).toBe('the longest expiry for anonymous uploads')
    expect(fieldInWords(['files', 2, 'name'])).toBe('the name of file 3')
    expect(fieldInWords(['maxDownloads'])).toBe('the download limit')
    expect(fieldInWords([])).toBe('the request')
  })

  it('admin settings: "The longest expiry for anonymous uploads must be at least 1."', () => {
    const valid = { allowAnonymousUploads: true, encryptByDefault: false, requireEncryption: false, p2pRelay: true, defaultExpiry: 3600, uploadRateLimit: { points: 10, seconds: 60 } }
    const limits = { maxFileSize: 1000, maxExpiry: 86_400, dailyQuota: 10_000 }
    expect(AdminSettings.safeParse({ ...valid, user: limits, anonymous: limits }).success).toBe(true)
    expect(messageFor(AdminSettings, { ...valid, user: limits, anonymous: { ...limits, maxExpiry: 0 } })).toBe('The longest expiry for anonymous uploads must be at least 1.')
    expect(messageFor(AdminSettings, { ...valid, defaultExpiry: 90_000, user: limits, anonymous: limits })).toBe('The default expiry must not exceed the signed-in maximum expiry.')
  })

  it('curl options, missing fields and wrong types', () => {
    expect(messageFor(ShareOptionsFromStrings, { maxDownloads: '-1' })).toMatch(/^The download limit must be at least \d+\.$/)
    expect(messageFor(ShareOptionsFromStrings, { expiresIn: 'abc' })).toBe('The expiry must be a number.')
    expect(messageFor(z.object({ maxDownloads: z.number() }), {})).toBe('The download limit is missing.')
    expect(messageFor(CreateShareRequest, { files: 'x' })).not.toMatch(/[.:]\w/)
  })

  it('a message written for people in the schema is kept as it is', () => {
    expect(messageFor(z.object({ secret: RoomSecret }), { secret: 'short' })).toBe('This is not a room link. Check that the whole link was copied, or join with the room code.')
    // A field that must be absent says why, not "must be a never".
    expect(messageFor(CreateShareRequest, { files: [{ name: 'a.txt', size: 1 }], metadata: 'AAAA' })).toBe(
      'The metadata is only for end-to-end encrypted shares (encrypted: true).',
    )
  })

  it('the API error keeps the raw paths for programs in details', () => {
    const parsed = ShareOptionsFromStrings.safeParse({ maxDownloads: '0', expiresIn: 'x' })
    const appError = toAppError(parsed.success ? null : parsed.error)
    expect(appError.message).not.toMatch(/maxDownloads|expiresIn|:/)
    expect(appError.message).toMatch(/\(and 1 more problem\)\.$/)
    expect(appError.extra.details).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'maxDownloads' })]))
  })
})
