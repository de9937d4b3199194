import { DecryptError, type DecryptFailure } from '@sharesync/crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { i18n, i18nReady } from '../../../i18n'
import { DownloadFailed, downloadFailure } from './decrypt-download'

// Every way a file can fail to decrypt (a new kind fails the typecheck here until it has a message).
const KINDS: Record<DecryptFailure, null> = { tampered: null, truncated: null, too_long: null, not_encrypted: null, unsupported_version: null, wrong_file: null }

beforeAll(async () => {
  await i18nReady
})
afterAll(() => i18n.changeLanguage('en'))

describe('why a decrypting download failed, in the reader\'s language', () => {
  it('each decryption failure has its own message, in English and in German, and says nothing was saved', async () => {
    for (const lang of ['en', 'de']) {
      await i18n.changeLanguage(lang)
      const messages = new Set<string>()
      for (const kind of Object.keys(KINDS) as DecryptFailure[]) {
        const failed = downloadFailure(new DecryptError(kind, 3), undefined)
        expect([failed.reason, failed.message], kind).not.toContain(`encrypted.failed.${kind}`)
        expect(failed.reason).toBe('tampered')
        expect(failed.message).toMatch(lang === 'en' ? /Nothing was saved\.$/ : /Nichts wurde gespeichert\.$/)
        messages.add(failed.message)
      }
      expect(messages.size).toBe(Object.keys(KINDS).length)
    }
    await i18n.changeLanguage('en')
    expect(downloadFailure(new DecryptError('tampered', 0), undefined).message).toMatch(/changed after it was encrypted/)
  })

  it('a cancelled download says so, whatever error the cancel caused; a network error says interrupted; a DownloadFailed passes through', async () => {
    await i18n.changeLanguage('en')
    const abort = new AbortController()
    abort.abort()
    expect(downloadFailure(new DecryptError('truncated', 1), abort.signal)).toMatchObject({ reason: 'cancelled', message: 'Download cancelled; nothing was saved.' })
    expect(downloadFailure(new TypeError('network error'), undefined)).toMatchObject({ reason: 'network', message: expect.stringMatching(/interrupted/) })
    const given = new DownloadFailed('x', 'server')
    expect(downloadFailure(given, abort.signal)).toBe(given)
  })
})
