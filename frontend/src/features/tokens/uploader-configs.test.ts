import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { flameshotScript, sharexConfig } from './uploader-configs'

const TOKEN = 'sst_AAAAAAAAAAAAAAAA_' + 'b'.repeat(43)

describe('screenshot tool configurations', () => {
  it('the ShareX uploader PUTs the file with the token and reads the link from the answer', () => {
    const c = JSON.parse(sharexConfig('https://share.example.org', TOKEN)) as Record<string, unknown>
    expect(c).toMatchObject({
      RequestMethod: 'PUT',
      RequestURL: 'https://share.example.org/api/upload/{filename}',
      Headers: { Authorization: `Bearer ${TOKEN}` },
      Body: 'Binary',
      URL: '{json:url}',
    })
  })

  it('the Flameshot script is valid sh, and a hostile origin stays one literal value', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flameshot-'))
    const hostile = "https://x.example/'; touch pwned; '$(id)"
    const script = flameshotScript(hostile, TOKEN)
    writeFileSync(join(dir, 'up.sh'), script)
    execFileSync('sh', ['-n', join(dir, 'up.sh')])
    // Run only the assignments, then print what the script would use.
    const assignments = script.split('\n').filter((l) => /^SHARESYNC_(URL|TOKEN)=/.test(l)).join('\n')
    const out = execFileSync('sh', ['-c', `${assignments}\nprintf '%s|%s' "$SHARESYNC_URL" "$SHARESYNC_TOKEN"`], { cwd: dir }).toString()
    expect(out).toBe(`${hostile}|${TOKEN}`)
    expect(existsSync(join(dir, 'pwned'))).toBe(false)
  })
})
