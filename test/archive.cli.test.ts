import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { runCli, useCliDatabase } from './helpers/cli.js'
import { normalised } from './helpers/archive.js'

// `agentstore gpt export|import` as an operator runs them: a file out, the same file in, refusals in one message.

vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 })
const dir = mkdtempSync(join(tmpdir(), 'agentstore-cli-archive-'))
useCliDatabase('archive-cli')

afterAll(() => rmSync(dir, { recursive: true, force: true }))

const json = async (...args: string[]) => {
  const result = await runCli('--json', ...args)
  expect(result.code, result.stderr).toBe(0)
  return JSON.parse(result.stdout) as Record<string, unknown>
}

describe('agentstore gpt export / import', () => {
  const file = join(dir, 'test-gpt.ndjson')

  it('export: writes the archive to --out and prints what it holds', async () => {
    await json('seed')
    const made = await json('gpt', 'export', 'test-gpt', '--out', file)
    expect(made).toMatchObject({ gpt_id: 'test-gpt', file, counts: { collection: 2, document: 6 }, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) })
    expect(existsSync(file)).toBe(true)
    expect(existsSync(`${file}.partial`)).toBe(false)
    expect(readFileSync(file, 'utf8')).not.toContain('ak_')
    const again = await runCli('gpt', 'export', 'test-gpt', '--out', file)
    expect(again).toMatchObject({ code: 2, stderr: expect.stringMatching(/already exists; give another --out/) })
  })

  it('import: into a new GPT, then the copy exports to the same records', async () => {
    await json('gpt', 'create', 'copy-gpt', '--name', 'Copy')
    const text = await runCli('gpt', 'import', 'copy-gpt', file)
    expect(text.code, text.stderr).toBe(0)
    expect(text.stdout).toMatch(/^Imported \d+ records into GPT copy-gpt \(2 collection, 6 document\)\.\n$/)
    const copy = join(dir, 'copy-gpt.ndjson')
    const made = await runCli('gpt', 'export', 'copy-gpt', '--out', copy, '--no-vectors')
    expect(made.stdout).toMatch(/^Exported GPT copy-gpt to .*copy-gpt\.ndjson: \d+ records/)
    expect(normalised(readFileSync(copy, 'utf8'))).toEqual(normalised(readFileSync(file, 'utf8')))
  })

  it('refusals: a GPT with data, a damaged file, one missing; each in one message, exit 1', async () => {
    const full = await runCli('gpt', 'import', 'copy-gpt', file)
    expect(full).toMatchObject({ code: 1, stderr: expect.stringMatching(/already holds data \(collection, document\)/) })
    await json('gpt', 'create', 'empty-gpt', '--name', 'Empty')
    const cut = join(dir, 'cut.ndjson')
    writeFileSync(cut, readFileSync(file, 'utf8').split('\n').slice(0, -2).join('\n') + '\n')
    const damaged = await runCli('gpt', 'import', 'empty-gpt', cut)
    expect(damaged).toMatchObject({ code: 1, stderr: expect.stringMatching(/nothing was imported\.\n {2}line \d+ \(end\) \/: the archive ends without its trailer line/) })
    expect(await runCli('gpt', 'import', 'empty-gpt', join(dir, 'none.ndjson'))).toMatchObject({ code: 2, stderr: expect.stringMatching(/no file .*none\.ndjson/) })
  })
})
