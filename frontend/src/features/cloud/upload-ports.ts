import { i18n } from '../../i18n'
import type { SignPartsResponse, UploadState } from '@sharesync/protocol'
import { cloudApi } from './cloud-api'

/**
 * What the upload engine needs from the outside world, and nothing more: the server's upload API
 * and part PUTs (HTTP), time (clock) and whether the browser is online (network). Tests give it
 * fakes; the page gives it the adapters below.
 */

export interface UploadHttp {
  state(): Promise<UploadState>
  signParts(fileId: string, partNumbers: number[]): Promise<SignPartsResponse>
  /** PUTs one part, reporting the bytes sent; resolves with its ETag, rejects with PartHttpError. */
  putPart(url: string, body: Blob | Uint8Array<ArrayBuffer>, opts: { signal: AbortSignal; onProgress: (loaded: number) => void }): Promise<{ etag: string }>
  completeFile(fileId: string, parts: { partNumber: number; etag: string }[]): Promise<{ size: number }>
  finalize(): Promise<unknown>
}

export interface Clock {
  now(): number
  /** Resolves after `ms`; rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal: AbortSignal): Promise<void>
  /** Calls `fn` after `ms` unless cancelled (the returned function). */
  timer(ms: number, fn: () => void): () => void
  /** In [0, 1): the jitter of retries. */
  random(): number
}

export interface Network {
  online(): boolean
  /** Calls `fn` whenever the browser goes on- or offline; returns the unsubscribe function. */
  watch(fn: (online: boolean) => void): () => void
}

/** A part PUT answered with an error status (0: no answer at all). */
export class PartHttpError extends Error {
  constructor(
    readonly status: number,
    readonly retryAfterMs?: number,
  ) {
    super(status === 0 ? i18n.t('engine.storageLost') : i18n.t('engine.storageAnswered', { status }))
    this.name = 'PartHttpError'
  }
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason as Error)
      const abort = () => {
        clearTimeout(t)
        reject(signal.reason as Error)
      }
      const t = setTimeout(() => {
        signal.removeEventListener('abort', abort)
        resolve()
      }, Math.max(0, ms))
      signal.addEventListener('abort', abort, { once: true })
    }),
  timer: (ms, fn) => {
    const t = setTimeout(fn, ms)
    return () => clearTimeout(t)
  },
  random: () => Math.random(),
}

export const browserNetwork: Network = {
  online: () => typeof navigator === 'undefined' || navigator.onLine !== false,
  watch: (fn) => {
    const on = () => fn(true)
    const off = () => fn(false)
    window.addEventListener('online', on)
    window.addEventListener('offline', off)
    return () => {
      window.removeEventListener('online', on)
      window.removeEventListener('offline', off)
    }
  },
}

/** The ShareSync API for one share (owner token), and part PUTs with XMLHttpRequest (fetch cannot report upload progress). */
export function browserHttp(shareId: string, ownerToken: string): UploadHttp {
  return {
    state: () => cloudApi.uploadState(shareId, ownerToken),
    signParts: (fileId, partNumbers) => cloudApi.signParts(shareId, fileId, ownerToken, partNumbers),
    completeFile: (fileId, parts) => cloudApi.completeFile(shareId, fileId, ownerToken, parts),
    finalize: () => cloudApi.finalize(shareId, ownerToken),
    putPart: (url, body, { signal, onProgress }) =>
      new Promise((resolve, reject) => {
        if (signal.aborted) return reject(signal.reason as Error)
        const xhr = new XMLHttpRequest()
        const abort = () => xhr.abort()
        signal.addEventListener('abort', abort, { once: true })
        const settle = () => signal.removeEventListener('abort', abort)
        xhr.open('PUT', url)
        xhr.upload.onprogress = (e) => onProgress(e.loaded)
        xhr.onload = () => {
          settle()
          if (xhr.status >= 200 && xhr.status < 300) return resolve({ etag: xhr.getResponseHeader('ETag') ?? '' })
          const retryAfter = Number(xhr.getResponseHeader('Retry-After'))
          reject(new PartHttpError(xhr.status, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined))
        }
        xhr.onerror = () => {
          settle()
          reject(new PartHttpError(0))
        }
        xhr.onabort = () => {
          settle()
          reject(signal.reason instanceof Error ? signal.reason : new PartHttpError(0))
        }
        xhr.send(body)
      }),
  }
}
