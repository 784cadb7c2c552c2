import { execFile } from 'node:child_process'
import { readdir, stat } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')

/** Every source file `npm run build` compiles (tests are excluded from the build). */
async function sources(dir: string): Promise<string[]> {
  const found: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) found.push(...(await sources(path)))
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.endsWith('.d.ts')) found.push(path)
  }
  return found
}

const mtime = (path: string) => stat(path).then((s) => s.mtimeMs, () => null)

/** The sources whose compiled file in dist/ is missing or older than they are. */
export async function staleSources(): Promise<string[]> {
  const src = join(ROOT, 'src')
  const stale: string[] = []
  for (const file of await sources(src)) {
    const built = await mtime(join(ROOT, 'dist', relative(src, file)).replace(/\.ts$/, '.js'))
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
  // A type error still emits (tests may run on work in progress); `npm run typecheck` is where it fails.
  await promisify(execFile)(process.execPath, [TSC, '-p', join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 }).catch(
    (error: { stdout?: string }) => process.stderr.write(`test setup: tsc reported errors:\n${error.stdout ?? String(error)}\n`),
  )
  const left = await staleSources()
  if (left.length > 0) throw new Error(`test setup: dist/ could not be compiled for ${left.join(', ')}`)
}
