import { createHash } from 'node:crypto'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'

/**
 * What `send` needs to resume an interrupted upload: the share, how to prove ownership, and for an
 * encrypted share its key (the IKM: the same key must encrypt the parts that are sent again). One
 * small file per upload (mode 0600), named by a hash of the server, the files (path, size, date) and
 * the options; removed once the link works.
 */
export interface SendState {
  shareId: string
  url: string
  ownerToken?: string
  /** encrypted shares: the link's fragment, the IKM (base64url) and the server-side access token */
  fragment?: string
  ikm?: string
  access?: string | null
}

export function stateDir(): string {
  if (process.env.SHARESYNC_STATE_DIR) return process.env.SHARESYNC_STATE_DIR
  const base = process.env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state')
  return join(base, 'sharesync', 'uploads')
}

export function stateKey(input: unknown): string {
  return createHash('sha256').update(JSON.stringify(input)).digest('hex').slice(0, 32)
}

export async function loadState(key: string): Promise<SendState | null> {
  try {
    return JSON.parse(await readFile(join(stateDir(), `${key}.json`), 'utf8')) as SendState
  } catch {
    return null
  }
}

export async function saveState(key: string, state: SendState): Promise<void> {
  await mkdir(stateDir(), { recursive: true, mode: 0o700 })
  await writeFile(join(stateDir(), `${key}.json`), JSON.stringify(state), { mode: 0o600 })
}

export async function dropState(key: string): Promise<void> {
  await rm(join(stateDir(), `${key}.json`), { force: true })
}
