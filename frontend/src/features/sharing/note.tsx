import Markdown from 'react-markdown'

/** Only these link targets survive; anything else (javascript:, data:, relative paths) is dropped. */
const SAFE_URL = /^(https?:|mailto:)/i

export function safeUrl(url: string): string {
  return SAFE_URL.test(url.trim()) ? url.trim() : ''
}

interface MdNode {
  type: string
  value?: string
  children?: MdNode[]
}

/** Raw HTML in the note is shown as the text it is, never parsed as HTML. */
function htmlAsText() {
  const walk = (node: MdNode) => {
    if (node.type === 'html') node.type = 'text'
    node.children?.forEach(walk)
  }
  return (tree: MdNode) => walk(tree)
}

/**
 * The sender's note: plain text with a little Markdown (emphasis, lists, code, links). Raw HTML is
 * never rendered (it shows as the text it is), images are not loaded (they could track the reader), and links
 * go only to http(s) and mailto, in a new tab, without referrer or opener, marked nofollow.
 */
export function Note({ text }: { text: string }) {
  return (
    <div
      data-testid="share-note"
      className="space-y-2 break-words rounded-xl bg-slate-100 p-3 text-sm text-slate-800 dark:bg-slate-800 dark:text-slate-200 [&_a]:font-medium [&_a]:text-indigo-700 [&_a]:underline dark:[&_a]:text-indigo-300 [&_code]:rounded [&_code]:bg-slate-200 [&_code]:px-1 dark:[&_code]:bg-slate-700 [&_ol]:list-decimal [&_ol]:pl-5 [&_ul]:list-disc [&_ul]:pl-5"
    >
      <Markdown
        remarkPlugins={[htmlAsText]}
        skipHtml
        disallowedElements={['img']}
        unwrapDisallowed
        urlTransform={safeUrl}
        components={{
          a: ({ href, children }) =>
            href ? (
              <a href={href} target="_blank" rel="noopener noreferrer nofollow">
                {children}
              </a>
            ) : (
              <span>{children}</span>
            ),
          h1: ({ children }) => <p className="font-semibold">{children}</p>,
          h2: ({ children }) => <p className="font-semibold">{children}</p>,
          h3: ({ children }) => <p className="font-semibold">{children}</p>,
        }}
      >
        {text}
      </Markdown>
    </div>
  )
}
