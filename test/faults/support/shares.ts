/** Making and reading shares the way a curl user would, for the fault scenarios. */
export interface Uploaded {
  id: string
  ownerToken: string
  url: string
  downloadUrl: string
}

export async function uploadText(base: string, name: string, body: string, query = ''): Promise<Uploaded> {
  const res = await fetch(`${base}/api/upload/${encodeURIComponent(name)}${query}`, { method: 'PUT', body })
  if (res.status !== 201) throw new Error(`upload answered ${res.status}: ${await res.text()}`)
  return (await res.json()) as Uploaded
}

export async function errorCode(res: Response): Promise<string | undefined> {
  return ((await res.json().catch(() => null)) as { error?: { code?: string } } | null)?.error?.code
}

/** Downloads a single-file share through its signed URL; null when the link answers otherwise. */
export async function downloadBytes(base: string, id: string): Promise<Buffer | null> {
  const res = await fetch(`${base}/api/shares/${id}/download`)
  if (!res.ok) {
    await res.arrayBuffer()
    return null
  }
  return Buffer.from(await res.arrayBuffer())
}
