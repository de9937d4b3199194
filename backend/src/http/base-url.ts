import type { Request } from 'express'
import type { Config } from '../config'

/** The origin links are built on: PUBLIC_URL when set, else the address the client used. */
export function baseUrl(config: Config, req: Request): string {
  return config.publicUrl ?? `${req.protocol}://${req.get('host') ?? `localhost:${config.port}`}`
}
