import { describe, expect, it } from 'vitest'
import { isDatabaseDown } from './connect'

describe('isDatabaseDown', () => {
  it('a restart, a shutdown, a statement timeout, an exhausted pool and a lost connection mean the database is down', () => {
    for (const err of [
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
      Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' }),
      Object.assign(new Error('sorry, too many clients already'), { code: '53300' }),
      Object.assign(new Error('terminating connection due to idle-in-transaction timeout'), { code: '25P03' }),
      Object.assign(new Error('connection failure'), { code: '08006' }),
      new Error('timeout exceeded when trying to connect'),
      new Error('Query read timeout'),
      new Error('Client has encountered a connection error and is not queryable'),
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
    ]) {
      expect(isDatabaseDown(err), err.message).toBe(true)
    }
  })

  it('a wrong statement or a constraint is not an outage', () => {
    expect(isDatabaseDown(Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' }))).toBe(false)
    expect(isDatabaseDown(Object.assign(new Error('syntax error at or near "SELEC"'), { code: '42601' }))).toBe(false)
    expect(isDatabaseDown(new Error('something else'))).toBe(false)
  })
})
