import { vi } from 'vitest'
import { main } from '../../src/cli/main.js'

/** Runs the CLI in this process, capturing what it writes and the exit code it sets. */
export async function runCli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
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
  process.exitCode = undefined
  try {
    await main(['node', 'agentstore', ...args])
  } finally {
    out.mockRestore()
    err.mockRestore()
  }
  const code = Number(process.exitCode ?? 0)
  process.exitCode = undefined
  return { code, stdout, stderr }
}
