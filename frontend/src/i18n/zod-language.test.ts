import { CreateShareRequest } from '@sharesync/protocol'
import { afterAll, describe, expect, it } from 'vitest'
import { followZod } from './index'

/** The first message the protocol's schema gives for a share request with too long a password. */
const refusal = () => {
  const parsed = CreateShareRequest.safeParse({ files: [{ name: 'a.txt', size: 1 }], password: 'x'.repeat(10_000) })
  if (parsed.success) throw new Error('the schema took a 10 000-character password')
  return parsed.error.issues[0]!.message
}

describe("zod's messages follow the app's language", () => {
  afterAll(() => followZod('en'))

  it('a refused value is described in German, Chinese, then English again', async () => {
    await followZod('de')
    expect(refusal()).toMatch(/^Zu groß/)
    await followZod('zh-CN')
    expect(refusal()).toMatch(/[\u4e00-\u9fff]/)
    await followZod('en')
    expect(refusal()).toMatch(/^Too big/)
  })
})
