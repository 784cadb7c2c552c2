import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { cliCommand, shellWord } from '../src/cli/command.js'

// What the CLI and the server suggest typing: the package's own script by its path, from anywhere.

const ROOT = fileURLToPath(new URL('..', import.meta.url))

describe('cliCommand', () => {
  it.each([
    { cwd: ROOT, expected: './bin/agentstore.js' },
    { cwd: join(ROOT, 'bin'), expected: './agentstore.js' },
    { cwd: tmpdir(), expected: join(ROOT, 'bin', 'agentstore.js') },
    { cwd: join(ROOT, 'docs'), expected: join(ROOT, 'bin', 'agentstore.js') },
  ])('from $cwd is $expected', ({ cwd, expected }) => {
    expect(cliCommand(cwd)).toBe(shellWord(expected))
    expect(existsSync(resolve(cwd, expected))).toBe(true)
  })

  it('never suggests npx', () => {
    expect(cliCommand(tmpdir())).not.toMatch(/npx/)
  })
})

describe('shellWord', () => {
  it.each([
    { text: '/srv/agentstore/bin/agentstore.js', word: '/srv/agentstore/bin/agentstore.js' },
    { text: '/home/ann/my data', word: "'/home/ann/my data'" },
    { text: "/tmp/ann's", word: "'/tmp/ann'\\''s'" },
  ])('$text → $word', ({ text, word }) => {
    expect(shellWord(text)).toBe(word)
  })
})
