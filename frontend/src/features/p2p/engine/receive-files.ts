import { EndOfFile, type OfferedFile } from '@sharesync/protocol'
import { createSHA256, type IHasher } from 'hash-wasm'
import { safeJson } from './peer-link'
import type { FileSink } from './sinks'

/**
 * The receiver's side of one transfer: binary chunks stream into the file's sink while an
 * incremental SHA-256 runs; the sender's end-of-file frame carries its hash, and the file is only
 * reported done (verified or damaged) once both agree on size and hash.
 */

export interface ReceiveHooks {
  openSink(file: OfferedFile, index: number): Promise<FileSink>
  progress(bytes: number): void
  /** `file` is null when it went to the browser's downloads, or when it was damaged (then deleted). */
  fileDone(index: number, file: File | null, verified: boolean, sink: FileSink['kind']): void
  allDone(): void
  failed(reason: string): void
}

export class FilesReceiver {
  private index = 0
  private sink: FileSink | null = null
  private hasher: IHasher | null = null
  private fileBytes = 0
  private totalBytes = 0
  private chain: Promise<void> = Promise.resolve()
  private stopped = false

  constructor(
    private readonly files: OfferedFile[],
    private readonly hooks: ReceiveHooks,
  ) {}

  attach(dc: RTCDataChannel): void {
    dc.binaryType = 'arraybuffer'
    // Messages are handled strictly in order; writes are awaited one after the other.
    dc.onmessage = (e: MessageEvent) => {
      const data: unknown = e.data
      this.chain = this.chain.then(() => this.handle(data)).catch((err: unknown) => this.fail(err instanceof Error ? err.message : 'write failed'))
    }
  }

  /** Stops and deletes the partial file. */
  async abort(): Promise<void> {
    this.stopped = true
    const sink = this.sink
    this.sink = null
    await this.chain.catch(() => undefined)
    await sink?.abort().catch(() => undefined)
  }

  private async handle(data: unknown) {
    if (this.stopped) return
    const file = this.files[this.index]
    if (!file) return this.fail('more data than offered')
    if (!this.sink) {
      this.sink = await this.hooks.openSink(file, this.index)
      this.hasher = await createSHA256()
      this.hasher.init()
      this.fileBytes = 0
    }
    if (data instanceof ArrayBuffer) {
      const chunk = new Uint8Array(data)
      if (this.fileBytes + chunk.byteLength > file.size) return this.fail('more data than offered')
      this.hasher!.update(chunk)
      this.fileBytes += chunk.byteLength
      this.totalBytes += chunk.byteLength
      await this.sink.write(chunk)
      this.hooks.progress(this.totalBytes)
      return
    }
    if (typeof data !== 'string') return this.fail('unexpected message')
    const eof = safeJson(data, EndOfFile)
    if (!eof || eof.fileId !== file.id) return this.fail('unexpected message')
    const verified = this.fileBytes === file.size && this.hasher!.digest('hex') === eof.sha256
    const sink = this.sink
    this.sink = null
    // A damaged file is never offered: its partial copy is deleted (or its download failed).
    if (!verified) {
      await sink.abort()
      this.hooks.fileDone(this.index, null, false, sink.kind)
      this.stopped = true
      return
    }
    const saved = await sink.close()
    this.hooks.fileDone(this.index, saved, true, sink.kind)
    this.index += 1
    if (this.index === this.files.length) this.hooks.allDone()
  }

  private fail(reason: string) {
    if (this.stopped) return
    this.stopped = true
    const sink = this.sink
    this.sink = null
    void sink?.abort()
    this.hooks.failed(reason)
  }
}
