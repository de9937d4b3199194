/**
 * A transfer's byte pipe: an RTCDataChannel (direct or through TURN) or the server relay. Both ends
 * of the engine only see this: binary chunks and JSON text frames in both directions, a buffered
 * amount for backpressure, and an event when the buffer runs low.
 */
export interface Pipe {
  readonly path: 'direct' | 'relay'
  readonly label: string
  readonly bufferedAmount: number
  readonly isOpen: boolean
  send(data: Uint8Array<ArrayBuffer> | string): void
  /** resolves once the pipe can send; rejects if it closes first */
  opened(timeoutMs?: number): Promise<void>
  onMessage(fn: (data: ArrayBuffer | string) => void): void
  /** called when bufferedAmount falls under `threshold` */
  onLow(threshold: number, fn: () => void): void
  onClose(fn: () => void): void
  close(): void
}

export class PipeClosed extends Error {
  constructor(message = 'the connection closed') {
    super(message)
    this.name = 'PipeClosed'
  }
}

export function channelPipe(dc: RTCDataChannel): Pipe {
  dc.binaryType = 'arraybuffer'
  const closers: (() => void)[] = []
  let closed = false
  dc.addEventListener('close', () => {
    if (closed) return
    closed = true
    for (const fn of closers) fn()
  })
  return {
    path: 'direct',
    label: dc.label,
    get bufferedAmount() {
      return dc.bufferedAmount
    },
    get isOpen() {
      return dc.readyState === 'open'
    },
    send(data) {
      // Typed overloads differ for strings and views; both are what the channel takes.
      if (typeof data === 'string') dc.send(data)
      else dc.send(data)
    },
    opened(timeoutMs = 15_000) {
      if (dc.readyState === 'open') return Promise.resolve()
      if (dc.readyState === 'closed' || dc.readyState === 'closing') return Promise.reject(new PipeClosed())
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new PipeClosed('the data channel did not open')), timeoutMs)
        dc.addEventListener('open', () => {
          clearTimeout(timer)
          resolve()
        }, { once: true })
        closers.push(() => {
          clearTimeout(timer)
          reject(new PipeClosed())
        })
      })
    },
    onMessage(fn) {
      dc.onmessage = (e: MessageEvent) => fn(e.data as ArrayBuffer | string)
    },
    onLow(threshold, fn) {
      dc.bufferedAmountLowThreshold = threshold
      dc.onbufferedamountlow = fn
    },
    onClose(fn) {
      closers.push(fn)
    },
    close() {
      if (dc.readyState !== 'closed') dc.close()
    },
  }
}
