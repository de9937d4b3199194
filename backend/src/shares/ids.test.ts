import { describe, expect, it } from 'vitest'
import { newId } from './ids'

describe('newId', () => {
  it('is 22 base64url characters and never starts with "-" (10 000 draws; one in 64 would without the rule)', () => {
    const ids = Array.from({ length: 10_000 }, newId)
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/)
    expect(new Set(ids).size).toBe(ids.length)
  })
})
