import { defineConfig } from 'vitest/config'

// End-to-end: the built app (backend/dist + frontend/dist) in real headless Chromium.
export default defineConfig({
  test: {
    root: new URL('.', import.meta.url).pathname,
    include: ['**/*.e2e.ts'],
    environment: 'node',
    pool: 'forks',
    poolOptions: { forks: { singleFork: true } },
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
})
