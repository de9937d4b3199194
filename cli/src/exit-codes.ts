/**
 * Exit codes scripts can rely on (also printed by `sharesync --help` and listed in the README).
 * Only these are used; anything unforeseen is 1.
 */
export const EXIT = {
  ok: 0,
  /** an unexpected failure (a bug, or an answer the CLI does not understand) */
  failure: 1,
  /** wrong command line: unknown option, missing argument, a file that does not exist */
  usage: 2,
  /** the server refused the request as invalid (400, 409, 413, 415, 416: too large, over quota…) */
  refused: 3,
  /** not allowed: no or a bad token, a missing scope, a wrong share password (401, 403) */
  auth: 4,
  /** the link or share does not exist, expired or was used up (404, 410) */
  notFound: 5,
  /** the server could not be reached or is unavailable (network errors, 429 after retries, 5xx) */
  unavailable: 6,
  /** a downloaded file failed its check: wrong key, tampered, truncated (nothing is left under its name) */
  integrity: 7,
  /** interrupted (Ctrl-C); `send` resumes where it stopped when run again */
  interrupted: 130,
} as const

export type ExitCode = (typeof EXIT)[keyof typeof EXIT]

/** A failure the CLI reports as one line and an exit code. */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
    /** the server's error code, when it answered one */
    readonly code?: string,
  ) {
    super(message)
    this.name = 'CliError'
  }
}

export function exitCodeOfStatus(status: number): ExitCode {
  if (status === 401 || status === 403) return EXIT.auth
  if (status === 404 || status === 410) return EXIT.notFound
  if (status === 429 || status >= 500) return EXIT.unavailable
  return EXIT.refused
}

export const EXIT_TABLE = `Exit codes:
  0    success
  1    unexpected failure
  2    wrong command line (unknown option, missing file)
  3    refused by the server (invalid, too large, over quota)
  4    not allowed (token missing or invalid, scope, wrong password)
  5    not found (link unknown, expired or used up)
  6    server unreachable or unavailable
  7    a downloaded file failed its integrity check (wrong key, tampered, truncated)
  130  interrupted (send again to resume)`
