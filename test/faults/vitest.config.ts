import { defineConfig } from 'vitest/config'

// The fault suite: the built app (backend/dist) as child processes against real PostgreSQL, Redis,
// s3rver and nginx, with outages made by signals (kill -9, SIGSTOP, restarts). One file at a time:
// the scenarios time outages, and two of them at once on a small machine would blur each other.
export default defineConfig({
  test: {
    root: new URL('.', import.meta.url).pathname,
    include: ['**/*.fault.ts'],
    environment: 'node',
    pool: 'forks',
    poolOptions: { forks: { singleFork: true } },
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    expect: { poll: { timeout: 20_000, interval: 100 } },
  },
})
