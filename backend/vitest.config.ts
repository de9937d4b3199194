import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    environment: 'node',
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    // Test files share a fork's modules (imported once per fork, not once per file: about a tenth of
    // the phase's CPU on this 2-core machine). Every file starts its own servers and services, so
    // nothing but module-level code is shared, and that holds no test's state.
    isolate: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
})
