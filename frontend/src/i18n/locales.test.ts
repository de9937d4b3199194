import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ERRORS } from '@sharesync/protocol'
import { describe, expect, it } from 'vitest'
import { LANGUAGES } from '.'
import { SAME_AS_ENGLISH } from './same-as-english'

const here = dirname(fileURLToPath(import.meta.url))
type Tree = { [key: string]: string | Tree }

function read(code: string): Tree {
  return JSON.parse(readFileSync(join(here, 'locales', `${code}.json`), 'utf8')) as Tree
}

/** {a: {b: 'x'}} -> {'a.b': 'x'}; a value that is neither text nor an object is reported as such. */
function flatten(tree: Tree, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  for (const [k, v] of Object.entries(tree)) {
    const key = prefix ? `${prefix}.${k}` : k
    if (v && typeof v === 'object') flatten(v, key, out)
    else out[key] = v
  }
  return out
}

const PLURAL = /_(zero|one|two|few|many|other)$/

/** Keys grouped by their base: 'files_one' and 'files_other' are the plural forms of 'files'. */
function groups(flat: Record<string, unknown>): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>()
  for (const [key, value] of Object.entries(flat)) {
    const m = PLURAL.exec(key)
    const base = m && `${key.slice(0, m.index)}_other` in flat ? key.slice(0, m.index) : key
    const form = m && base !== key ? m[1]! : ''
    if (!out.has(base)) out.set(base, new Map())
    out.get(base)!.set(form, String(value))
  }
  return out
}

/** What a translation must carry over: {{placeholders}}, $t(nesting) and <1>component</1> tags. */
function placeholders(text: string): string[] {
  return [...text.matchAll(/\{\{\s*([\w.]+)[^}]*\}\}|\$t\(([^)]+)\)|<\/?(\d+)>/g)].map((m) => m[0].replace(/\s+/g, '')).sort()
}

const english = read('en')
const englishFlat = flatten(english)
const englishGroups = groups(englishFlat)
const others = LANGUAGES.map((l) => l.code).filter((c) => c !== 'en')

describe('every language is complete', () => {
  it('the locale folder holds exactly the languages of the menu', () => {
    const files = readdirSync(join(here, 'locales')).map((f) => f.replace(/\.json$/, ''))
    expect(files.sort()).toEqual(LANGUAGES.map((l) => l.code).sort())
  })

  it('English has no empty text', () => {
    for (const [key, value] of Object.entries(englishFlat)) {
      expect(typeof value === 'string' && value.trim() !== '', `en: ${key} is empty or not text`).toBe(true)
    }
  })

  it('every server error code has a message in English (translated by code, not shown raw)', () => {
    for (const code of Object.keys(ERRORS)) expect(englishFlat[`errors.${code}`], `errors.${code}`).toBeTypeOf('string')
  })

  describe.each(others)('%s', (code) => {
    const flat = flatten(read(code))
    const own = groups(flat)
    const forms = new Intl.PluralRules(code).resolvedOptions().pluralCategories

    it('has every key of English, none that English lacks, and no empty text', () => {
      expect([...own.keys()].filter((k) => !englishGroups.has(k)), 'keys English lacks').toEqual([])
      expect([...englishGroups.keys()].filter((k) => !own.has(k)), 'missing keys').toEqual([])
      for (const [key, value] of Object.entries(flat)) {
        expect(typeof value === 'string' && value.trim() !== '', `${code}: ${key} is empty or not text`).toBe(true)
      }
    })

    it("has each plural exactly in this language's plural forms", () => {
      for (const [base, enForms] of englishGroups) {
        const mine = own.get(base)
        if (!mine || !enForms.has('other')) continue
        expect([...mine.keys()].sort(), `${code}: ${base}`).toEqual([...forms].sort())
      }
    })

    it('keeps the placeholders of English', () => {
      for (const [base, enForms] of englishGroups) {
        const mine = own.get(base)
        if (!mine) continue
        if (!enForms.has('other')) {
          expect(placeholders(mine.get('')!), `${code}: ${base}`).toEqual(placeholders(enForms.get('')!))
          continue
        }
        // A plural's 'other' carries every placeholder; a singular may say "one file" instead of {{count}}.
        const all = new Set([...enForms.values()].flatMap(placeholders))
        expect(placeholders(mine.get('other')!), `${code}: ${base}_other`).toEqual(placeholders(enForms.get('other')!))
        for (const [form, text] of mine) {
          for (const p of placeholders(text)) expect(all.has(p), `${code}: ${base}_${form} has ${p}`).toBe(true)
        }
      }
    })

    it('is translated, not an English copy (except words that are the same in this language)', () => {
      const copies = Object.entries(flat)
        .filter(([key, value]) => englishFlat[key] === value && /[a-z]{3}/i.test(String(value).replace(/\{\{[^}]*\}\}/g, '')))
        .map(([key]) => key)
        .filter((key) => !SAME_AS_ENGLISH[code]?.includes(key))
      expect(copies).toEqual([])
    })
  })
})

describe('the code asks only for keys that exist', () => {
  const src = join(here, '..')
  const files = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter((f) => /\.tsx?$/.test(f) && !f.endsWith('.test.ts'))
  const keys = new Set<string>()
  for (const f of files) {
    const text = readFileSync(join(src, f), 'utf8')
    for (const m of text.matchAll(/\bt\(\s*'([a-zA-Z0-9_.]+)'/g)) keys.add(m[1]!)
  }

  it('every t(\'…\') key of the source is in English (or is a plural of one)', () => {
    const missing = [...keys].filter((k) => !(k in englishFlat) && !(`${k}_other` in englishFlat))
    expect(missing).toEqual([])
    expect(keys.size).toBeGreaterThan(5)
  })
})
