import { ButtonLink } from '../../components/button'
import { Card } from '../../components/card'
import { usePageTitle } from '../../components/page-title'

/** Where a used, replaced or expired one-time admin link lands (the server redirects browsers here). */
export function AdminLinkUsed() {
  usePageTitle('Admin link no longer works')
  return (
    <Card aria-labelledby="admin-link-heading" className="mx-auto max-w-lg space-y-4">
      <h1 id="admin-link-heading" className="text-2xl font-bold">
        This admin sign-in link no longer works
      </h1>
      <p className="text-slate-700 dark:text-slate-300">
        Each admin sign-in link works once, and only the newest one works. This one was already used, was replaced by a newer link, or
        has expired.
      </p>
      <p className="text-slate-700 dark:text-slate-300">
        If you run this server, get a new link by running this command in the folder where ShareSync is installed (with the same
        settings as the server):
      </p>
      <pre className="overflow-x-auto rounded-md bg-slate-100 p-3 text-sm text-slate-900 dark:bg-slate-800 dark:text-slate-100">
        <code>pnpm admin:link</code>
      </pre>
      <p className="text-slate-700 dark:text-slate-300">
        In Docker: <code className="text-sm">docker compose exec app node backend/dist/cli/admin.js link</code>. If you are not the
        operator, ask them for access.
      </p>
      <ButtonLink to="/">Go to the home page</ButtonLink>
    </Card>
  )
}
