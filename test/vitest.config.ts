import { defineConfig } from 'vitest/config'

// End-to-end: the built app (backend/dist + frontend/dist) in real headless Chromium.
export default defineConfig({
  test: {
    root: new URL('.', import.meta.url).pathname,
    include: ['**/*.e2e.ts'],
    environment: 'node',
    pool: 'forks',
    // Two files at a time (each its own server and browser): on two cores this took the suite from
    // 662 s to 537 s; each file runs ~1.5× slower, which every wait here tolerates.
    poolOptions: { forks: { minForks: 1, maxForks: 2 } },
    fileParallelism: true,
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // Pages settle on their own schedule on a loaded machine: polls wait up to 15 s (default 1 s).
    expect: { poll: { timeout: 15_000, interval: 100 } },
  },
})
