import { i18n } from '../../i18n'
import type { ReactNode } from 'react'

export interface TreeItem {
  key: string
  name: string
  /** the file's folder inside the share ('' or absent: at the top) */
  path?: string
}

interface Folder<T> {
  name: string
  folders: Map<string, Folder<T>>
  files: T[]
}

function build<T extends TreeItem>(items: T[]): Folder<T> {
  const root: Folder<T> = { name: '', folders: new Map(), files: [] }
  for (const item of items) {
    let at = root
    for (const segment of (item.path ?? '').split('/').filter(Boolean)) {
      let next = at.folders.get(segment)
      if (!next) at.folders.set(segment, (next = { name: segment, folders: new Map(), files: [] }))
      at = next
    }
    at.files.push(item)
  }
  return root
}

const rowList = 'divide-y divide-slate-200 dark:divide-slate-700'

/**
 * A share's files as the tree they were shared in: folders first (each a labelled group), then the
 * files of each folder. A share without folders is a plain list. `row` renders one file.
 */
export function FileTree<T extends TreeItem>({ items, row, label }: { items: T[]; row: (item: T) => ReactNode; label: string }) {
  const root = build(items)
  const render = (folder: Folder<T>, depth: number): ReactNode => (
    <>
      {[...folder.folders.values()].map((sub) => (
        <li key={`d:${sub.name}`} data-testid="tree-folder" data-folder={sub.name}>
          <details open className="group">
            <summary
              className="flex min-h-11 cursor-pointer items-center gap-2 px-3 font-semibold text-slate-800 dark:text-slate-200"
              style={{ paddingLeft: `${0.75 + depth * 1.25}rem` }}
            >
              <svg aria-hidden="true" viewBox="0 0 20 20" className="h-5 w-5 shrink-0 fill-amber-500">
                <path d="M2 5a2 2 0 0 1 2-2h4l2 2h6a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2H4a2 2 0 0 1-2-2V5z" />
              </svg>
              <span className="break-all">{sub.name}</span>
            </summary>
            <ul className={`${rowList} border-t border-slate-200 dark:border-slate-700`} aria-label={i18n.t('common.folderNamed', { name: sub.name })}>
              {render(sub, depth + 1)}
            </ul>
          </details>
        </li>
      ))}
      {folder.files.map((item) => (
        <li key={item.key} style={{ paddingLeft: `${depth * 1.25}rem` }}>
          {row(item)}
        </li>
      ))}
    </>
  )
  return (
    <ul className={`${rowList} rounded-xl border border-slate-200 dark:border-slate-700`} aria-label={label}>
      {render(root, 0)}
    </ul>
  )
}
