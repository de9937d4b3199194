import { toJsxRuntime } from 'hast-util-to-jsx-runtime'
import { common, createLowlight } from 'lowlight'
import { Fragment, jsx, jsxs } from 'react/jsx-runtime'

/** Syntax highlighting for these extensions (highlight.js grammars, through lowlight: no HTML strings). */
const LANGUAGE: Record<string, string> = {
  ts: 'typescript',
  tsx: 'typescript',
  mts: 'typescript',
  cts: 'typescript',
  js: 'javascript',
  jsx: 'javascript',
  mjs: 'javascript',
  cjs: 'javascript',
  py: 'python',
  rb: 'ruby',
  go: 'go',
  rs: 'rust',
  java: 'java',
  kt: 'kotlin',
  kts: 'kotlin',
  swift: 'swift',
  c: 'c',
  h: 'c',
  cc: 'cpp',
  cpp: 'cpp',
  hpp: 'cpp',
  cs: 'csharp',
  php: 'php',
  pl: 'perl',
  lua: 'lua',
  r: 'r',
  sql: 'sql',
  sh: 'bash',
  bash: 'bash',
  zsh: 'bash',
  json: 'json',
  jsonl: 'json',
  yaml: 'yaml',
  yml: 'yaml',
  toml: 'ini',
  ini: 'ini',
  cfg: 'ini',
  conf: 'ini',
  md: 'markdown',
  markdown: 'markdown',
  css: 'css',
  scss: 'scss',
  less: 'less',
  diff: 'diff',
  patch: 'diff',
  graphql: 'graphql',
  makefile: 'makefile',
  dockerfile: 'dockerfile',
}
/** Beyond this many characters the text is shown without colours (highlighting would stall the page). */
const HIGHLIGHT_LIMIT = 100_000

const lowlight = createLowlight(common)

export function languageOf(name: string): string | null {
  const lower = name.toLowerCase()
  const ext = lower.includes('.') ? lower.slice(lower.lastIndexOf('.') + 1) : lower
  const language = LANGUAGE[ext]
  return language && lowlight.registered(language) ? language : null
}

/**
 * Text shown as text: highlighted into React elements (never an HTML string), monospaced, scrollable.
 * A file that is not code, or too long to colour, is plain text.
 */
export function CodeView({ text, name }: { text: string; name: string }) {
  const language = text.length <= HIGHLIGHT_LIMIT ? languageOf(name) : null
  return (
    <pre
      data-testid="preview-text"
      data-language={language ?? 'plain'}
      className="hljs max-h-96 overflow-auto rounded-lg bg-slate-50 p-3 text-xs leading-relaxed text-slate-900 dark:bg-slate-950 dark:text-slate-100"
    >
      <code>{language ? toJsxRuntime(lowlight.highlight(language, text), { Fragment, jsx, jsxs }) : text}</code>
    </pre>
  )
}
