import { readdir } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { buildAdminUi } from './build-admin-ui.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
export const SOURCE_DIR = join(ROOT, 'src')
export const OUT_DIR = join(ROOT, 'dist')

/** Every source file the build compiles: src/**\/*.ts without the tests. */
export async function serverSources(dir = SOURCE_DIR): Promise<string[]> {
  const found: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) found.push(...(await serverSources(path)))
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.endsWith('.d.ts')) found.push(path)
  }
  return found
}

/** Where a source file's compiled module goes. */
export function outputOf(source: string): string {
  return join(OUT_DIR, relative(SOURCE_DIR, source)).replace(/\.ts$/, '.js')
}

/**
 * Compiles src/ into dist/ file by file, imports as written (no bundle: `serve` still loads PGlite and
 * the rest of the service lazily). esbuild strips the types in ~1 CPU-s where tsc took ~20 to check
 * them as well: `npm run typecheck` checks them, and CI runs it. The tests run these sources through
 * the same transform (vitest's esbuild), so what they test is what this emits.
 */
export async function buildServer(): Promise<void> {
  await build({
    entryPoints: await serverSources(),
    outdir: OUT_DIR,
    outbase: SOURCE_DIR,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: true,
    tsconfig: join(ROOT, 'tsconfig.json'),
    logLevel: 'warning',
  })
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = Date.now()
  await buildServer()
  const sizes = await buildAdminUi()
  const total = Object.values(sizes).reduce((sum, size) => sum + size, 0)
  console.log(`built dist/ in ${Date.now() - started} ms; admin console: ${Object.entries(sizes).map(([name, size]) => `${name} ${size} B`).join(', ')} gzipped (${total} B)`)
}
