import { copyFile, mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SOURCE = join(ROOT, 'admin-ui')

/**
 * Bundles the admin console (admin-ui/) into `outDir`: index.html, app.js and app.css, with
 * Preact inside (no CDN, works offline). Returns the gzipped size of each file.
 */
export async function buildAdminUi(outDir = join(ROOT, 'dist', 'admin-ui')): Promise<Record<string, number>> {
  await mkdir(outDir, { recursive: true })
  await build({
    // main.ts imports styles.css: esbuild writes it beside the script as app.css.
    entryPoints: { app: join(SOURCE, 'src', 'main.ts') },
    outdir: outDir,
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2020'],
    legalComments: 'none',
    logLevel: 'warning',
  })
  await copyFile(join(SOURCE, 'index.html'), join(outDir, 'index.html'))
  const sizes: Record<string, number> = {}
  for (const name of ['index.html', 'app.js', 'app.css']) sizes[name] = gzipSync(await readFile(join(outDir, name))).length
  return sizes
}
