import type { ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/**
 * Where the CLI and servers under test run: a directory without `.env`. The CLI reads `.env` of its
 * working directory, and one in a developer's checkout (say, with a real DATABASE_URL) must never
 * reach a test.
 */
export const CLI_CWD = fileURLToPath(new URL('../fixtures/cwd/', import.meta.url))

/**
 * `node <CLI_ARGS> serve …` runs the CLI as the package's users do, from any working directory: the
 * built bin/ over dist/, which the global setup compiles again whenever a source is newer (the
 * TypeScript loader would cost each child about three times the CPU to start).
 */
export const CLI_ARGS = [fileURLToPath(new URL('../../bin/agentstore.js', import.meta.url))]

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
