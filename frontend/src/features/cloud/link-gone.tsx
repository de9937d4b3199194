import { ButtonLink } from '../../components/button'
import { Card } from '../../components/card'
import { usePageTitle } from '../../components/page-title'

/** The one page for unknown, expired, used-up and deleted links (the server answers them all alike). */
export function LinkGone({ title = 'This link has expired or does not exist' }: { title?: string }) {
  usePageTitle('Link not available')
  return (
    <Card aria-labelledby="gone-heading" className="mx-auto max-w-lg space-y-4 text-center">
      <div aria-hidden="true" className="text-5xl">
        ⌛
      </div>
      <h1 id="gone-heading" className="text-2xl font-bold">
        {title}
      </h1>
      <p className="text-slate-700 dark:text-slate-300">
        Links stop working when they expire, when their downloads are used up, or when the sender deletes them. Ask the sender for a new
        link.
      </p>
      <ButtonLink to="/">Share your own files</ButtonLink>
    </Card>
  )
}
