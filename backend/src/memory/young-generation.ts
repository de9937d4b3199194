import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

/**
 * The size of V8's young generation (new space), which is where every request's short-lived objects
 * and every streamed chunk's `Buffer` wrapper are born.
 *
 * V8 starts the young generation at 1 MiB per semi-space and doubles it (up to 16 MiB each) whenever
 * most of it survives a scavenge. A streaming upload makes it grow at once: at every scavenge the
 * chunks still in flight survive. Once grown it stays grown and resident: 32 MiB of a server that
 * otherwise idles near 160 MiB.
 *
 * The embedded default (one person, one machine) keeps it at its starting size from the entry's first
 * line: `--semi-space-growth-factor=1`. Two facts shape how:
 * - V8 clamps a growth factor below 2 back to 2 whenever it configures a heap: given on the command
 *   line the flag does nothing, and starting a Worker (the PGlite worker) resets it for the main
 *   isolate too. So it is set at run time, and set again once a worker is online
 *   ({@link holdAgainAfterWorkerStart}).
 * - The hold has a price where requests are many and small: measured side by side on PGlite
 *   (`BENCH_BASELINE=… pnpm bench:issuance`, docs/benchmarks.md) issuance answered 16–20 % fewer
 *   requests per second held than not held. PostgreSQL deployments serve many people and let the
 *   young generation grow ({@link letYoungGenerationGrow}).
 */
let held = false

/** Keeps the young generation at its starting size (the embedded default). */
export function holdYoungGeneration(): void {
  held = true
  setFlagsFromString('--semi-space-growth-factor=1')
}

/** V8's own policy: the young generation grows with the load (PostgreSQL deployments). */
export function letYoungGenerationGrow(): void {
  held = false
  setFlagsFromString('--semi-space-growth-factor=2')
}

/** Starting a Worker resets the growth factor for every isolate: the hold is set again, if it was held. */
export function holdAgainAfterWorkerStart(): void {
  if (held) setFlagsFromString('--semi-space-growth-factor=1')
}

type Gc = (options: { type: 'minor' }) => void
let gc: Gc | null = null

/**
 * A minor collection (a scavenge) now: what streamed buffers leave behind is freed before the young
 * generation fills with it. `gc` comes from a context made while `--expose-gc` is set for an instant;
 * the process's own global never gets it.
 */
export function collectYoungGeneration(): void {
  if (!gc) {
    setFlagsFromString('--expose-gc')
    try {
      gc = runInNewContext('gc') as Gc
    } finally {
      setFlagsFromString('--no-expose-gc')
    }
  }
  gc({ type: 'minor' })
}
