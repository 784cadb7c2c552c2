import { vi } from 'vitest'
import { main } from '../../src/cli/main.js'
import { CLI_CWD } from './children.js'

export interface CliRun {
  code: number
  stdout: string
  stderr: string
}

/** Runs the CLI in this process from CLI_CWD (no `.env` there), capturing what it writes and the exit code it sets. */
export function runCli(...args: string[]): Promise<CliRun> {
  return runCliIn(CLI_CWD, ...args)
}

/** Runs the CLI in this process as if started in `cwd` (where it reads `.env` and finds ./data). */
export async function runCliIn(cwd: string, ...args: string[]): Promise<CliRun> {
  let stdout = ''
  let stderr = ''
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk)
    return true
  })
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk)
    return true
  })
  const home = process.cwd()
  process.exitCode = undefined
  try {
    process.chdir(cwd)
    await main(['node', 'agentstore', ...args])
  } finally {
    process.chdir(home)
    out.mockRestore()
    err.mockRestore()
  }
  const code = Number(process.exitCode ?? 0)
  process.exitCode = undefined
  return { code, stdout, stderr }
}
