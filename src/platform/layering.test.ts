import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const PLATFORM = join(SRC, 'platform')
const MODULES = join(SRC, 'modules')

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(path)
    return entry.name.endsWith('.ts') ? [path] : []
  })
}

/** Every relative import (static, type-only, re-export, dynamic) of a file, as the .ts file it names. */
function localImports(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true)
  return importedFiles
    .map((reference) => reference.fileName)
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => resolve(dirname(file), specifier.replace(/\.js$/, '.ts')))
}

const isUnder = (dir: string, file: string) => !relative(dir, file).startsWith('..')

/**
 * The chain by which a file reaches src/modules, or null. Files outside platform and modules (the
 * composition layer: services.ts, config.ts, ...) are followed, since importing them is depending on
 * whatever they import.
 */
function pathToModules(file: string, seen = new Set<string>()): string[] | null {
  for (const target of localImports(file)) {
    if (isUnder(MODULES, target)) return [target]
    if (isUnder(PLATFORM, target) || seen.has(target)) continue
    seen.add(target)
    const rest = pathToModules(target, seen)
    if (rest) return [target, ...rest]
  }
  return null
}

describe('layering', () => {
  it('finds the imports it checks (the scan is not vacuous)', () => {
    const files = sourceFiles(PLATFORM)
    expect(files.length).toBeGreaterThan(20)
    expect(localImports(join(PLATFORM, 'jobs', 'pg-boss.queue.ts'))).toContain(join(PLATFORM, 'jobs', 'jobs.queue.ts'))
    expect(pathToModules(join(SRC, 'services.ts'))).not.toBeNull()
  })

  it('no file under src/platform (tests included) depends on src/modules, directly or through the composition layer', () => {
    const offenders = sourceFiles(PLATFORM).flatMap((file) => {
      const chain = pathToModules(file)
      return chain ? [[file, ...chain].map((path) => relative(SRC, path)).join(' -> ')] : []
    })
    expect(offenders).toEqual([])
  })
})
