/**
 * Ready-made configurations for screenshot tools, built in the browser from a token just made (the
 * server never sees it again). Both upload with `PUT /api/upload/<name>` and read `url` from the answer.
 */

/** A ShareX custom uploader (`.sxcu`, ShareX 13+): double-click the file to add it. */
export function sharexConfig(origin: string, token: string): string {
  const host = new URL(origin).host
  return `${JSON.stringify(
    {
      Version: '15.0.0',
      Name: `ShareSync (${host})`,
      DestinationType: 'ImageUploader, TextUploader, FileUploader',
      RequestMethod: 'PUT',
      RequestURL: `${origin}/api/upload/{filename}`,
      Headers: { Authorization: `Bearer ${token}` },
      Body: 'Binary',
      URL: '{json:url}',
      ErrorMessage: '{json:error.message}',
    },
    null,
    2,
  )}\n`
}

/** Single quotes for a POSIX shell: the value cannot end the string. */
const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

/**
 * A shell script for Flameshot (which has no custom uploaders): takes a region, uploads it, puts the
 * link on the clipboard (wl-copy or xclip, whichever is there) and prints it. Bind it to a key.
 */
export function flameshotScript(origin: string, token: string): string {
  return `#!/bin/sh
# ShareSync + Flameshot: capture a region, upload it, copy the link.
# Keep this file private (chmod 700): it holds an API token with the upload scope.
set -eu
SHARESYNC_URL=${shellQuote(origin)}
SHARESYNC_TOKEN=${shellQuote(token)}
name="screenshot-$(date +%Y%m%d-%H%M%S).png"
answer=$(flameshot gui --raw | curl -sS --fail-with-body -T - \\
  -H "Authorization: Bearer $SHARESYNC_TOKEN" -H 'Content-Type: image/png' \\
  "$SHARESYNC_URL/api/upload/$name")
link=$(printf '%s' "$answer" | sed -n 's/.*"url":"\\([^"]*\\)".*/\\1/p')
[ -n "$link" ] || { printf '%s\\n' "$answer" >&2; exit 1; }
if command -v wl-copy >/dev/null 2>&1; then printf '%s' "$link" | wl-copy
elif command -v xclip >/dev/null 2>&1; then printf '%s' "$link" | xclip -selection clipboard; fi
printf '%s\\n' "$link"
`
}
