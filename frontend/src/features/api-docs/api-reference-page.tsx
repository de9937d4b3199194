import { useEffect, useMemo, useState, type ReactNode } from 'react'
import { useTranslation } from 'react-i18next'
import { i18n } from '../../i18n'
import { Alert } from '../../components/alert'
import { Card } from '../../components/card'
import { usePageTitle } from '../../components/page-title'
import { api, errorMessage } from '../../lib/api'

/** The parts of an OpenAPI 3.1 document this page shows. */
interface JsonSchema {
  $ref?: string
  type?: string | string[]
  description?: string
  properties?: Record<string, JsonSchema>
  required?: string[]
  items?: JsonSchema
  enum?: unknown[]
  const?: unknown
  anyOf?: JsonSchema[]
  oneOf?: JsonSchema[]
  allOf?: JsonSchema[]
  format?: string
  pattern?: string
  minimum?: number
  maximum?: number
  minLength?: number
  maxLength?: number
  default?: unknown
  additionalProperties?: JsonSchema | boolean
}
interface Parameter {
  in: string
  name: string
  required?: boolean
  description?: string
  schema?: JsonSchema
}
interface Media {
  schema?: JsonSchema
}
interface Operation {
  operationId: string
  tags?: string[]
  summary?: string
  description?: string
  parameters?: Parameter[]
  requestBody?: { description?: string; content: Record<string, Media> }
  responses: Record<string, { description: string; content?: Record<string, Media> }>
  security?: Record<string, string[]>[]
}
interface OpenApiDoc {
  info: { title: string; version: string; description?: string }
  paths: Record<string, Record<string, Operation>>
  components?: { schemas?: Record<string, JsonSchema> }
}

const METHOD_COLORS: Record<string, string> = {
  get: 'bg-sky-100 text-sky-900 dark:bg-sky-900 dark:text-sky-100',
  head: 'bg-slate-200 text-slate-900 dark:bg-slate-700 dark:text-slate-100',
  post: 'bg-emerald-100 text-emerald-900 dark:bg-emerald-900 dark:text-emerald-100',
  put: 'bg-amber-100 text-amber-900 dark:bg-amber-900 dark:text-amber-100',
  patch: 'bg-violet-100 text-violet-900 dark:bg-violet-900 dark:text-violet-100',
  delete: 'bg-red-100 text-red-900 dark:bg-red-900 dark:text-red-100',
}

/** A name and version, not words: the same in every language. */
const OPENAPI_VERSION = '(OpenAPI 3.1).'
const OPENAPI_PATH = '/api/openapi.json'

/** Route /docs/api: the API reference, rendered from GET /api/openapi.json (the document is the source). */
export function ApiReferencePage() {
  const { t } = useTranslation()
  usePageTitle(t('layout.apiReference'))
  const [doc, setDoc] = useState<OpenApiDoc | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [filter, setFilter] = useState('')
  useEffect(() => {
    api<OpenApiDoc>('/api/openapi.json').then(setDoc, (err: unknown) => setError(errorMessage(err)))
  }, [])

  const byTag = useMemo(() => {
    const groups = new Map<string, { path: string; method: string; op: Operation }[]>()
    if (!doc) return groups
    const needle = filter.trim().toLowerCase()
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        if (needle && !`${method} ${path} ${op.summary ?? ''}`.toLowerCase().includes(needle)) continue
        const tag = op.tags?.[0] ?? t('apiDocs.other')
        groups.set(tag, [...(groups.get(tag) ?? []), { path, method, op }])
      }
    }
    return groups
  }, [doc, filter, t])

  if (error) return <Alert tone="error">{error}</Alert>
  if (!doc) return <p role="status">{t('common.loading')}</p>
  const schemas = doc.components?.schemas ?? {}
  return (
    <div className="space-y-6">
      <Card className="space-y-3">
        <h1 className="text-2xl font-bold">
          {doc.info.title} <span className="text-base font-normal text-slate-600 dark:text-slate-400">{doc.info.version}</span>
        </h1>
        {doc.info.description && <Prose text={doc.info.description} />}
        <p className="text-sm">
          {t('apiDocs.machineReadable')}{' '}
          <a className="font-medium text-indigo-700 underline dark:text-indigo-300" href="/api/openapi.json">
            {OPENAPI_PATH}
          </a>{' '}
          {OPENAPI_VERSION}
        </p>
        <label className="block text-sm">
          <span className="font-medium">{t('apiDocs.filter')}</span>
          <input
            type="search"
            value={filter}
            onChange={(e) => setFilter(e.target.value)}
            placeholder={t('apiDocs.filterPlaceholder')}
            className="mt-1 block w-full rounded-lg border border-slate-300 bg-white px-3 py-2 dark:border-slate-600 dark:bg-slate-950"
          />
        </label>
        <nav aria-label={t('apiDocs.sections')} className="flex flex-wrap gap-2 text-sm">
          {[...byTag.keys()].map((tag) => (
            <a key={tag} href={`#tag-${slug(tag)}`} className="rounded-full border border-slate-300 px-3 py-1 hover:bg-slate-100 dark:border-slate-600 dark:hover:bg-slate-800">
              {tag}
            </a>
          ))}
        </nav>
      </Card>
      {[...byTag].map(([tag, ops]) => (
        <section key={tag} id={`tag-${slug(tag)}`} className="space-y-3" aria-labelledby={`tag-${slug(tag)}-title`}>
          <h2 id={`tag-${slug(tag)}-title`} className="text-xl font-bold">
            {tag}
          </h2>
          {ops.map(({ path, method, op }) => (
            <OperationView key={`${method} ${path}`} path={path} method={method} op={op} schemas={schemas} />
          ))}
        </section>
      ))}
      {Object.keys(schemas).length > 0 && (
        <section className="space-y-3" aria-labelledby="schemas-title">
          <h2 id="schemas-title" className="text-xl font-bold">
            {t('apiDocs.schemas')}
          </h2>
          {Object.entries(schemas).map(([name, schema]) => (
            <Card key={name} id={`schema-${name}`} className="space-y-2">
              <h3 className="font-mono font-semibold">{name}</h3>
              <SchemaView schema={schema} />
            </Card>
          ))}
        </section>
      )}
    </div>
  )
}

function OperationView({ path, method, op, schemas }: { path: string; method: string; op: Operation; schemas: Record<string, JsonSchema> }) {
  const { t } = useTranslation()
  const body = op.requestBody ? Object.entries(op.requestBody.content)[0] : undefined
  return (
    <details id={op.operationId} className="rounded-xl border border-slate-200 bg-white dark:border-slate-700 dark:bg-slate-900">
      <summary className="flex cursor-pointer flex-wrap items-center gap-2 px-4 py-3">
        <span className={`rounded px-2 py-0.5 font-mono text-xs font-bold uppercase ${METHOD_COLORS[method] ?? ''}`}>{method}</span>
        <code className="font-mono text-sm break-all">{path}</code>
        <span className="text-sm text-slate-700 dark:text-slate-300">{op.summary && <Prose inline text={op.summary} />}</span>
      </summary>
      <div className="space-y-4 border-t border-slate-200 px-4 py-3 text-sm dark:border-slate-700">
        {op.description && <Prose text={op.description} />}
        {op.parameters && op.parameters.length > 0 && (
          <Block title={t('apiDocs.parameters')}>
            <ul className="space-y-1">
              {op.parameters.map((p) => (
                <li key={`${p.in}-${p.name}`}>
                  <code className="font-mono font-semibold">{p.name}</code> <span className="text-slate-600 dark:text-slate-400">({p.in}{p.required ? `, ${t('apiDocs.required')}` : ''})</span>{' '}
                  {p.schema && <TypeLabel schema={p.schema} schemas={schemas} />} {p.description && <span>— {p.description}</span>}
                </li>
              ))}
            </ul>
          </Block>
        )}
        {body && (
          <Block title={t('apiDocs.requestBody', { type: body[0] })}>
            {op.requestBody?.description && <p>{op.requestBody.description}</p>}
            {body[1].schema && <SchemaView schema={body[1].schema} />}
          </Block>
        )}
        <Block title={t('apiDocs.responses')}>
          <ul className="space-y-2">
            {Object.entries(op.responses).map(([status, r]) => {
              const media = r.content ? Object.entries(r.content)[0] : undefined
              return (
                <li key={status}>
                  <span className={`font-mono font-bold ${Number(status) >= 400 ? 'text-red-800 dark:text-red-300' : 'text-emerald-800 dark:text-emerald-300'}`}>{status}</span> <Prose inline text={r.description} />
                  {media?.[1].schema && (
                    <span>
                      {' '}
                      → <TypeLabel schema={media[1].schema} schemas={schemas} />
                    </span>
                  )}
                </li>
              )
            })}
          </ul>
        </Block>
      </div>
    </details>
  )
}

function Block({ title, children }: { title: string; children: ReactNode }) {
  return (
    <div className="space-y-1">
      <h4 className="font-semibold">{title}</h4>
      {children}
    </div>
  )
}

/** A schema as a list of its fields (objects) or one type label. */
function SchemaView({ schema }: { schema: JsonSchema }) {
  if (schema.properties) {
    return (
      <ul className="space-y-1 border-l-2 border-slate-200 pl-3 dark:border-slate-700">
        {Object.entries(schema.properties).map(([name, prop]) => (
          <li key={name}>
            <code className="font-mono font-semibold">{name}</code>
            {schema.required?.includes(name) ? '' : <span className="text-slate-600 dark:text-slate-400">?</span>} <TypeLabel schema={prop} />
            {prop.description && <span className="text-slate-700 dark:text-slate-300"> — {prop.description}</span>}
            {prop.properties && <SchemaView schema={prop} />}
            {prop.items?.properties && <SchemaView schema={prop.items} />}
          </li>
        ))}
      </ul>
    )
  }
  const alternatives = schema.oneOf ?? schema.anyOf
  if (alternatives) {
    return (
      <ul className="space-y-2">
        {alternatives.map((s, i) => (
          <li key={i}>
            <span className="text-slate-600 dark:text-slate-400">{i === 0 ? i18n.t('apiDocs.either') : i18n.t('apiDocs.or')}</span> <SchemaView schema={s} />
          </li>
        ))}
      </ul>
    )
  }
  return <TypeLabel schema={schema} />
}

function TypeLabel({ schema }: { schema: JsonSchema; schemas?: Record<string, JsonSchema> }) {
  return <code className="rounded bg-slate-100 px-1 font-mono text-xs dark:bg-slate-800">{typeName(schema)}</code>
}

function typeName(s: JsonSchema): ReactNode {
  if (s.$ref) {
    const name = s.$ref.split('/').pop() ?? s.$ref
    return (
      <a href={`#schema-${name}`} className="text-indigo-700 underline dark:text-indigo-300">
        {name}
      </a>
    )
  }
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' | ')
  if (s.const !== undefined) return JSON.stringify(s.const)
  const alternatives = s.anyOf ?? s.oneOf
  if (alternatives) {
    return alternatives.map((a, i) => (
      <span key={i}>
        {i > 0 && ' | '}
        {typeName(a)}
      </span>
    ))
  }
  if (s.type === 'array' && s.items) return <>{typeName(s.items)}[]</>
  const type = Array.isArray(s.type) ? s.type.join(' | ') : (s.type ?? 'any')
  const limits = [
    s.format,
    s.minimum !== undefined ? `≥ ${s.minimum}` : null,
    s.maximum !== undefined ? `≤ ${s.maximum}` : null,
    s.maxLength !== undefined ? `≤ ${s.maxLength} chars` : null,
    s.default !== undefined ? `default ${JSON.stringify(s.default)}` : null,
  ].filter(Boolean)
  return limits.length ? `${type} (${limits.join(', ')})` : type
}

/** Text with `code` spans and **bold** (the document's descriptions use only these). */
function Prose({ text, inline = false }: { text: string; inline?: boolean }) {
  const parts = text.split(/(`[^`]+`|\*\*[^*]+\*\*)/g).map((part, i) => {
    if (part.startsWith('`') && part.endsWith('`')) return <code key={i} className="rounded bg-slate-100 px-1 font-mono text-xs dark:bg-slate-800">{part.slice(1, -1)}</code>
    if (part.startsWith('**') && part.endsWith('**')) return <strong key={i}>{part.slice(2, -2)}</strong>
    return <span key={i}>{part}</span>
  })
  return inline ? <span>{parts}</span> : <p className="whitespace-pre-line">{parts}</p>
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-')
}
