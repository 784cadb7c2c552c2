import { availableParallelism } from 'node:os'
import { defineConfig } from 'vitest/config'
import { LATE_OPTIMIZATION } from './test/helpers/children.js'
import { SlowFirstSequencer } from './test/slow-first.sequencer.js'

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/shared-worker.setup.ts'],
    pool: 'forks',
    // A worker runs file after file in one module graph instead of loading the service afresh for each
    // (~1.5 s of imports a file, about half the suite's time on two cores). Each file still gets its
    // own database and app; a file that changes process-wide state (env, cwd, spies) puts it back.
    isolate: false,
    // One file more than there are cores: a file often waits (on the processes, browsers and timers its
    // tests start) while another computes. On two cores, three workers ran the PostgreSQL suite in 181 s
    // instead of 229 s and the PGlite one in 197 s instead of 209–223 s; four gained nothing more there.
    // On PostgreSQL, two more: its files wait longer (on the server, and on the service processes they
    // start; one waits a minute or two for a scheduled backup), and the CPU stood idle a quarter of the
    // run. Four workers ran it in 173–188 s instead of 185–193 s, at most 32 connections of the server's 100.
    // At most four: each file has a database of its own (a PGlite instance takes ~0.5 GB; on PostgreSQL,
    // pools of its own, and its service processes' pools of five).
    maxWorkers: Math.min(availableParallelism() + (process.env.TEST_DATABASE_URL ? 2 : 1), 4),
    // Each test file builds its apps afresh, so V8 kept optimizing new closures that ran for a few
    // milliseconds: a profile of a PGlite run found more CPU in TurboFan's background compiles (~70 s)
    // than in the tests' own JavaScript. Ten times V8's default budget before a function is optimized
    // (67,584) took 15–25% off the CPU of the busiest files; it changes how fast code runs, not what runs.
    execArgv: [LATE_OPTIMIZATION],
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
