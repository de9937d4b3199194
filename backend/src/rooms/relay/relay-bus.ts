import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { RelayBus } from './relay-hub'

const channelOf = (instance: string) => `sharesync:relay:${instance}`

/**
 * The relay bus between instances over Redis pub/sub: each instance subscribes to its own channel,
 * and frames are published to the instance that holds the other end only (never to every instance,
 * unlike a Socket.IO broadcast). Flow control is the hub's (acks), so what Redis buffers for a
 * subscriber is at most a window per channel.
 */
export class RedisRelayBus implements RelayBus {
  private readonly pub: Redis
  private readonly sub: Redis
  private handler: ((frame: Buffer) => void) | null = null

  constructor(
    redis: Redis,
    private readonly instance: string,
    private readonly logger: Logger,
  ) {
    // Its own connections: relayed chunks must not queue behind (or ahead of) rate-limit and room commands.
    const own = () => redis.duplicate({ lazyConnect: false, enableOfflineQueue: true, commandTimeout: undefined, maxRetriesPerRequest: null })
    this.pub = own()
    this.sub = own()
    for (const c of [this.pub, this.sub]) c.on('error', (err: Error) => logger.warn({ err: err.message }, 'relay bus: redis error'))
    this.sub.on('messageBuffer', (_channel: Buffer, message: Buffer) => this.handler?.(message))
    this.sub.subscribe(channelOf(instance)).catch((err: Error) => logger.warn({ err: err.message }, 'relay bus: could not subscribe'))
  }

  send(instance: string, frame: Buffer): void {
    // A frame lost while Redis is away shows up as a stalled channel; never as an unhandled rejection.
    this.pub.publish(channelOf(instance), frame).catch((err: Error) => this.logger.debug({ err: err.message }, 'relay bus: a frame was lost'))
  }

  listen(onFrame: (frame: Buffer) => void): void {
    this.handler = onFrame
  }

  async close(): Promise<void> {
    await Promise.all([this.pub, this.sub].map((c) => c.quit().catch(() => c.disconnect())))
  }
}

/** The same bus between hubs in one process (unit tests of channels across "instances"). */
export class MemoryRelayNetwork {
  private readonly handlers = new Map<string, (frame: Buffer) => void>()

  bus(instance: string): RelayBus {
    return {
      send: (to, frame) => {
        const handler = this.handlers.get(to)
        // Asynchronous, as over Redis.
        if (handler) setImmediate(() => handler(frame))
      },
      listen: (onFrame) => void this.handlers.set(instance, onFrame),
      close: async () => void this.handlers.delete(instance),
    }
  }
}
