import { stat } from 'node:fs/promises'
import { relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildServer, outputOf, serverSources } from '../../scripts/build.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const mtime = (path: string) => stat(path).then((s) => s.mtimeMs, () => null)

/** The sources whose compiled file in dist/ is missing or older than they are. */
export async function staleSources(): Promise<string[]> {
  const stale: string[] = []
  for (const file of await serverSources()) {
    const built = await mtime(outputOf(file))
    if (built === null || built < (await mtime(file))!) stale.push(relative(ROOT, file))
  }
  return stale
}

/**
 * Child processes of tests run the built CLI (`bin/agentstore.js` over dist/), as users do: node
 * starts it in about a third of the CPU time that the TypeScript loader needs. So that they never
 * run yesterday's code, dist/ is compiled again here whenever a source is newer than its output.
 */
export async function ensureFreshBuild(): Promise<void> {
  const stale = await staleSources()
  if (stale.length === 0) return
  process.stderr.write(`test setup: dist/ is older than ${stale.length} source file(s) (${stale.slice(0, 3).join(', ')}…); compiling\n`)
  await buildServer()
  const left = await staleSources()
  if (left.length > 0) throw new Error(`test setup: dist/ could not be compiled for ${left.join(', ')}`)
}
