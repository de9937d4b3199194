import { rm } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { MyShare, MySharesResponse } from '@sharesync/protocol'
import { Command, InvalidArgumentError, Option } from 'commander'
import { createClient, serverUrl } from './api'
import { CliError, EXIT, EXIT_TABLE } from './exit-codes'
import { collectFiles, spoolStdin } from './files'
import { get, parseLink } from './get'
import { formatBytes } from './progress'
import { send } from './send'

/** `90`, `90s`, `15m`, `12h`, `7d` → seconds. */
function parseDuration(text: string): number {
  const m = /^(\d+)\s*([smhdw]?)$/.exec(text.trim())
  if (!m) throw new InvalidArgumentError('a duration like 3600, 90m, 12h or 7d')
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }[m[2] as '' | 's' | 'm' | 'h' | 'd' | 'w']
  return Number(m[1]) * unit
}

function parseCount(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new InvalidArgumentError('a whole number of at least 1')
  return Number(text)
}

const serverOption = () => new Option('-s, --server <url>', 'the ShareSync server (default: $SHARESYNC_URL)')
const tokenOption = () => new Option('-t, --token <token>', 'a personal API token (default: $SHARESYNC_TOKEN)')
const print = (json: boolean, value: unknown, text: string) => process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${text}\n`)
const quietFor = (o: { json?: boolean; quiet?: boolean }) => o.quiet === true || (o.json === true && !process.stderr.isTTY)

const program = new Command()
  .name('sharesync')
  .description('Send files, folders and standard input as ShareSync links; get them back; list and delete your shares.')
  .version('0.1.0')
  .showHelpAfterError()
  .addHelpText('after', `\nEnvironment: SHARESYNC_URL (server), SHARESYNC_TOKEN (API token), SHARESYNC_PASSWORD (share password).\n\n${EXIT_TABLE}`)
  .exitOverride()

program
  .command('send')
  .description('Upload files, folders (one share keeping the tree) or - (standard input); prints the link')
  .argument('<files...>', 'files or folders to send, or - for standard input')
  .addOption(serverOption())
  .addOption(tokenOption())
  .option('-e, --expires <duration>', 'expire after (3600, 90m, 12h, 7d)', parseDuration)
  .option('-n, --max-downloads <count>', 'stop after this many downloads', parseCount)
  .option('-p, --password <password>', 'recipients need this password (default: $SHARESYNC_PASSWORD)')
  .option('-E, --encrypt', 'end-to-end encrypt (the key goes in the link after #; the server never sees it)', false)
  .option('--note <text>', 'a message for recipients')
  .option('--name <name>', 'the file name for standard input', 'stdin')
  .option('--json', 'print the result as JSON', false)
  .option('-q, --quiet', 'no progress', false)
  .addHelpText(
    'after',
    `
Resuming: an interrupted send (Ctrl-C, a lost connection, a killed process) resumes when the same
command is run again: only the parts the server does not hold yet are sent, and the link is the same.
Files are recognised by path, size and modification time; standard input by its content: it is
spooled to a private temporary file (hashed on the way), so pipe the same bytes again to resume
(e.g. 'tar c photos | sharesync send - --name photos.tar'). Resume state lives in
$SHARESYNC_STATE_DIR (default: $XDG_STATE_HOME/sharesync/uploads) until the link works.`,
  )
  .action(async (args: string[], o: { server?: string; token?: string; expires?: number; maxDownloads?: number; password?: string; encrypt: boolean; note?: string; name: string; json: boolean; quiet: boolean }) => {
    const client = createClient(serverUrl(o.server), o.token ?? process.env.SHARESYNC_TOKEN)
    const stdin = args.includes('-')
    if (stdin && args.length > 1) throw new CliError(EXIT.usage, 'Send standard input (-) on its own.')
    const files = stdin ? [await spoolStdin(o.name)] : await collectFiles(args)
    try {
      const result = await send(client, files, {
        expiresIn: o.expires,
        maxDownloads: o.maxDownloads,
        password: o.password ?? (process.env.SHARESYNC_PASSWORD || undefined),
        note: o.note,
        encrypt: o.encrypt,
        resumable: true,
        quiet: quietFor(o),
      })
      print(o.json, result, result.link)
    } finally {
      if (stdin) await rm(dirname(files[0]!.abs), { recursive: true, force: true })
    }
  })

program
  .command('get')
  .description('Download a link (decrypting an end-to-end encrypted one with the key after #)')
  .argument('<link>', 'the link, e.g. https://share.example.org/s/abc#key')
  .option('-o, --output <path>', 'a file (one-file shares), a folder, or - for standard output')
  .option('-p, --password <password>', "the share's password (default: $SHARESYNC_PASSWORD)")
  .option('--json', 'print what was saved as JSON', false)
  .option('-q, --quiet', 'no progress', false)
  .addHelpText(
    'after',
    `
Resuming: an interrupted get leaves <file>.part; running it again continues from there with a Range
request. An end-to-end encrypted file resumes too: the .part holds only verified plaintext, whole
records are kept, the last kept record is downloaded again and compared (a .part of another file is
thrown away and the file downloaded again), and every new record is verified with its own index; the
file gets its name only when its last record verified and its size is exact.`,
  )
  .action(async (link: string, o: { output?: string; password?: string; json: boolean; quiet: boolean }) => {
    const result = await get(link, { output: o.output, password: o.password ?? (process.env.SHARESYNC_PASSWORD || undefined), quiet: quietFor(o) || o.output === '-' })
    if (o.output === '-') return
    print(o.json, result, result.files.map((f) => f.savedTo).join('\n'))
  })

program
  .command('list')
  .description('Your shares, newest first (needs a token with the read scope)')
  .addOption(serverOption())
  .addOption(tokenOption())
  .option('--json', 'print them as JSON', false)
  .action(async (o: { server?: string; token?: string; json: boolean }) => {
    const client = authed(o)
    const { shares } = await client.json<MySharesResponse>('GET', '/api/me/shares')
    const line = (s: MyShare) =>
      [s.id, s.status, `${s.fileCount} file${s.fileCount === 1 ? '' : 's'}`, formatBytes(s.size), `${s.downloads}${s.maxDownloads ? `/${s.maxDownloads}` : ''} downloads`, `expires ${s.expiresAt}`, s.encrypted ? '(encrypted)' : s.names.join(', ')].join('  ')
    print(o.json, shares, shares.length ? shares.map(line).join('\n') : 'No shares.')
  })

program
  .command('delete')
  .description('Delete one of your shares by id or link (needs a token with the delete scope)')
  .argument('<shares...>', 'share ids or links')
  .addOption(serverOption())
  .addOption(tokenOption())
  .option('--json', 'print the deleted ids as JSON', false)
  .action(async (targets: string[], o: { server?: string; token?: string; json: boolean }) => {
    const client = authed(o)
    const ids = targets.map((t) => (/^[A-Za-z0-9_-]{8,64}$/.test(t) ? t : parseLink(t).id))
    for (const id of ids) await client.json('DELETE', `/api/me/shares/${id}`)
    print(o.json, { deleted: ids }, ids.map((id) => `deleted ${id}`).join('\n'))
  })

function authed(o: { server?: string; token?: string }) {
  const token = o.token ?? process.env.SHARESYNC_TOKEN
  if (!token) throw new CliError(EXIT.usage, 'This needs a personal API token: pass --token or set SHARESYNC_TOKEN (make one under "API tokens" in the web app).')
  return createClient(serverUrl(o.server), token)
}

process.on('SIGINT', () => process.exit(EXIT.interrupted))

try {
  await program.parseAsync(process.argv)
} catch (err) {
  const e = err as { code?: string; exitCode?: number }
  if (typeof e.code === 'string' && e.code.startsWith('commander.')) {
    // help and version are not failures; commander printed the rest already
    process.exitCode = e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help' ? EXIT.ok : EXIT.usage
  } else if (err instanceof CliError) {
    process.stderr.write(`sharesync: ${err.message}\n`)
    process.exitCode = err.exitCode
  } else {
    process.stderr.write(`sharesync: ${(err as Error).stack ?? String(err)}\n`)
    process.exitCode = EXIT.failure
  }
}
