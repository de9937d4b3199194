import type { ZodError } from 'zod'

type Issue = ZodError['issues'][number]

/** Words for field names that camel-case splitting alone would leave cryptic. */
const WORDS: Record<string, string> = {
  max: 'maximum',
  min: 'minimum',
  expires: 'expiry',
  expiresIn: 'expiry',
  maxDownloads: 'download limit',
  maxExpiry: 'longest expiry',
  maxFileSize: 'largest file size',
  maxShareSize: 'largest share size',
  dailyQuota: 'daily quota',
  anonymous: 'anonymous uploads',
  user: 'signed-in users',
  secret: 'room link',
  ownerToken: 'owner token',
  partNumbers: 'part numbers',
  fileId: 'file',
  id: 'id',
}

const words = (key: string) => WORDS[key] ?? key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/[_-]+/g, ' ').toLowerCase()

/**
 * `['anonymous', 'maxExpiry']` -> "the longest expiry for anonymous uploads";
 * `['files', 2, 'name']` -> "the name of file 3". Empty: "the request".
 */
export function fieldInWords(path: readonly PropertyKey[]): string {
  const parts: string[] = []
  let owner: string | null = null
  for (const key of path) {
    if (typeof key === 'number') {
      const list = parts.pop() ?? 'item'
      parts.push(`${list.replace(/s$/, '')} ${key + 1}`)
    } else if (typeof key === 'string') {
      if (parts.length === 0 && path.length > 1 && typeof path[1] === 'string' && (key === 'anonymous' || key === 'user')) owner = words(key)
      else parts.push(words(key))
    }
  }
  if (parts.length === 0) return owner ? `the settings for ${owner}` : 'the request'
  const field = parts.reverse().join(' of ')
  return `the ${field}${owner ? ` for ${owner}` : ''}`
}

/** A zod message written by hand in a schema (not one of zod's own defaults, which start "Invalid", "Too", "Expected"…). */
const ownMessage = (message: string) => !/^(Invalid|Too (small|big)|Expected|Unrecognized|Required)/.test(message)

function rule(issue: Issue): string {
  switch (issue.code) {
    case 'invalid_type':
      // A field that must be absent here says why in the schema ("is only for …"): that completes the sentence.
      if (issue.expected === 'never' && ownMessage(issue.message) && /^[a-z]/.test(issue.message)) return issue.message
      // zod does not keep the input in its issues; its own message says what it received.
      return /received undefined/.test(issue.message) ? 'is missing' : `must be ${issue.expected === 'number' || issue.expected === 'int' ? 'a number' : issue.expected === 'string' ? 'text' : `a${/^[aeiou]/.test(issue.expected) ? 'n' : ''} ${issue.expected}`}`
    case 'too_small': {
      const min = Number(issue.minimum)
      if (issue.origin === 'string') return min <= 1 ? 'must not be empty' : `must be at least ${min} characters`
      if (issue.origin === 'array' || issue.origin === 'set') return `needs at least ${min} item${min === 1 ? '' : 's'}`
      return issue.inclusive === false ? `must be more than ${min}` : `must be at least ${min}`
    }
    case 'too_big': {
      const max = Number(issue.maximum)
      if (issue.origin === 'string') return `must be at most ${max} characters`
      if (issue.origin === 'array' || issue.origin === 'set') return `may have at most ${max} item${max === 1 ? '' : 's'}`
      return issue.inclusive === false ? `must be less than ${max}` : `must be at most ${max}`
    }
    case 'invalid_value':
      return issue.values.length === 1 ? `must be ${JSON.stringify(issue.values[0])}` : `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`
    case 'unrecognized_keys':
      return `has fields this server does not know: ${issue.keys.join(', ')}`
    case 'not_multiple_of':
      return `must be a multiple of ${String(issue.divisor)}`
    default:
      // A schema's own predicate ("must not exceed …") completes the sentence.
      return ownMessage(issue.message) ? (/^[a-z]/.test(issue.message) ? issue.message : `is not valid: ${issue.message}`) : 'is not valid'
  }
}

/**
 * One sentence a person can act on for the first problem of a zod error:
 * "The longest expiry for anonymous uploads must be at least 1." — never a dotted path. Programs read
 * the `details` (path and zod's message) instead.
 */
export function zodSentence(err: ZodError): string {
  const first = err.issues[0]
  if (!first) return 'The request is not valid.'
  // A message written for people in the schema says it all (e.g. a room link that is not one).
  if ((first.code === 'invalid_format' || first.code === 'custom') && ownMessage(first.message) && /^[A-Z]/.test(first.message)) return first.message
  const sentence = `${fieldInWords(first.path)} ${rule(first)}`
  const more = err.issues.length > 1 ? ` (and ${err.issues.length - 1} more problem${err.issues.length > 2 ? 's' : ''})` : ''
  return `${sentence.charAt(0).toUpperCase()}${sentence.slice(1)}${more}.`
}
