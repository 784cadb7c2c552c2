import type { ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/**
 * Where the CLI and servers under test run: a directory without `.env`. The CLI reads `.env` of its
 * working directory, and one in a developer's checkout (say, with a real DATABASE_URL) must never
 * reach a test.
 */
export const CLI_CWD = fileURLToPath(new URL('../fixtures/cwd/', import.meta.url))

/** V8 optimizes a function after ten times its default budget (67,584); the test workers run so too (vitest.config.ts). */
export const LATE_OPTIMIZATION = '--interrupt-budget=675840'

/**
 * V8 tiers code up later in the processes tests start. A test's process lives for seconds, and a
 * `serve` start spent ~2 of its ~4 CPU-s compiling hot code with TurboFan in the background (1.5 s of
 * it PGlite's WebAssembly), work a process that short never earns back; with these, 3.0–3.4 CPU-s
 * instead of 4.1–4.5. How fast code runs, not what runs: the Docker image test still starts the
 * image's own command with Node's defaults.
 */
const V8_FLAGS = [LATE_OPTIMIZATION, '--wasm-tiering-budget=18000000']

/**
 * `node <CLI_ARGS> serve …` runs the CLI as the package's users do, from any working directory: the
 * built bin/ over dist/, which the global setup compiles again whenever a source is newer (the
 * TypeScript loader would cost each child about three times the CPU to start).
 */
export const CLI_ARGS = [...V8_FLAGS, fileURLToPath(new URL('../../bin/agentstore.js', import.meta.url))]

/** Kills whatever a failed step left running (normally nothing) and waits for each to close. */
export async function killChildren(children: Iterable<ChildProcess>): Promise<void> {
  await Promise.all(
    [...children].map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const closed = new Promise((resolve) => child.once('close', resolve))
      child.kill('SIGKILL')
      await closed
    }),
  )
}
