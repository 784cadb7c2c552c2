import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { runCli, useCliDatabase } from './helpers/cli.js'
import { createTestDatabase, type TestDatabase } from './helpers/test-database.js'

// `agentstore account …` in this process, over its own data directory (or PostgreSQL database).

useCliDatabase('accounts-cli', { SIGNUP: 'closed' })

/** Runs the CLI with `input` as its standard input. */
async function withStdin(input: string, ...args: string[]) {
  const stdin = vi.spyOn(process, 'stdin', 'get').mockReturnValue(Readable.from([input]) as unknown as typeof process.stdin)
  try {
    return await runCli(...args)
  } finally {
    stdin.mockRestore()
  }
}

describe('agentstore account', () => {
  it('create: makes an account while SIGNUP=closed and prints a generated password and the key, once', async () => {
    const result = await runCli('account', 'create', 'cli-owner@example.com')
    expect(result).toMatchObject({ code: 0, stderr: '' })
    expect(result.stdout).toMatch(
      /^Created account [0-9a-f-]{36} \(cli-owner@example\.com\)\.\nPassword \(shown once, give it to the owner\):\n\n {2}\S{24}\n\nAccount key \(shown once, store it now\):\n\n {2}ak_[0-9a-f]{32}_[A-Za-z0-9_-]{43}\n\n$/,
    )
  })

  it('create --password-stdin: takes the first line of standard input and does not print it', async () => {
    const result = await withStdin('Piped-Secret-9\nignored\n', '--json', 'account', 'create', 'piped@example.com', '--password-stdin')
    expect(result).toMatchObject({ code: 0, stderr: '' })
    const body = JSON.parse(result.stdout)
    expect(body).toEqual({ account: expect.objectContaining({ email: 'piped@example.com' }), key: expect.stringMatching(/^ak_/) })
    expect(result.stdout).not.toContain('Piped-Secret-9')
  })

  it.each([
    { name: 'a password that breaks the policy', args: ['account', 'create', 'weak@example.com', '--password-stdin'], input: 'weak\n', code: 1, stderr: /password policy[\s\S]*\/password: must be at least 10 characters long/ },
    { name: 'an empty standard input', args: ['account', 'create', 'empty@example.com', '--password-stdin'], input: '', code: 2, stderr: /standard input held no password/ },
    { name: 'a taken email', args: ['account', 'create', 'CLI-OWNER@example.com'], input: '', code: 1, stderr: /already exists/ },
    { name: 'not an email', args: ['account', 'create', 'nope'], input: '', code: 1, stderr: /\/email/ },
    { name: 'restore of a live account', args: ['account', 'restore', 'cli-owner@example.com'], input: '', code: 1, stderr: /not deleted/ },
    { name: 'restore of an unknown account', args: ['account', 'restore', 'ghost@example.com'], input: '', code: 1, stderr: /not found/ },
  ])('refuses $name', async ({ args, input, code, stderr }) => {
    const result = await withStdin(input, ...args)
    expect(result.code).toBe(code)
    expect(result.stdout).toBe('')
    expect(result.stderr).toMatch(stderr)
  })
})
