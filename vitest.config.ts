import { defineConfig } from 'vitest/config'
import { SlowFirstSequencer } from './test/slow-first.sequencer.js'

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    // Each file opens its own database (a PGlite copy takes ~0.5 GB); two cores, two files at a time.
    maxWorkers: 2,
    sequence: { sequencer: SlowFirstSequencer },
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    // expect.poll waits for what a page or a background job will show; a busy CI machine needs more than 1 s.
    expect: { poll: { timeout: 10_000 } },
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      exclude: ['src/**/*.test.ts', 'src/cli/index.ts'],
      reporter: ['text-summary', 'json-summary'],
    },
  },
})
