import type { ChildProcess } from 'node:child_process'

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
