import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { SLOWEST_FILES } from './slow-first.sequencer.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

describe('the slow-first list of the test sequencer', () => {
  it('names test files that exist, each once (a renamed file would silently lose its head start)', () => {
    expect(SLOWEST_FILES.filter((file) => !file.endsWith('.test.ts') || !existsSync(`${ROOT}${file}`))).toEqual([])
    expect(new Set(SLOWEST_FILES).size).toBe(SLOWEST_FILES.length)
  })
})
