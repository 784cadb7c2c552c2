import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SETTINGS } from '../../src/config.settings.js'
import { CLI_ARGS, CLI_CWD, killChildren } from './children.js'
import { runCli } from './cli.js'

export type Env = Record<string, string>

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `agentstore <args>` with `env` as its only Agentstore settings. */
export type CliRunner = (args: string[], env: Env) => Promise<CliResult>

// Each command of the built binary takes ~3 s (more when the machine is busy).
const CLI_TIMEOUT_MS = 90_000
const children = new Set<ChildProcess>()
const tempDirs: string[] = []

/** The environment of a child: ours without any Agentstore setting, plus the given ones. */
export function childEnv(env: Env): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env }
  for (const name of Object.keys(SETTINGS)) delete base[name]
  return { ...base, LOG_LEVEL: 'warn', ...env }
}

/** Runs `agentstore <args>` (the built binary) as a subprocess; kills it after `timeoutMs`. */
export function runCliProcess(args: string[], env: Env, timeoutMs = CLI_TIMEOUT_MS): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI_ARGS, ...args], {
      cwd: CLI_CWD,
      env: childEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    children.add(child)
    let stdout = ''
    let stderr = ''
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')))
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`agentstore ${args.join(' ')} did not finish in ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`))
    }, timeoutMs)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      children.delete(child)
      resolve({ code, stdout, stderr })
    })
  })
}

/**
 * Runs the same command in this process, with the environment a child would get. Commands run this
 * way must not overlap (they share process.env); the saving is node's start and the CLI's imports,
 * about two thirds of each command's CPU on embedded PGlite.
 */
export async function runCliInProcess(args: string[], env: Env): Promise<CliResult> {
  const saved = process.env
  process.env = childEnv(env)
  try {
    return await runCli(...args)
  } finally {
    process.env = saved
  }
}

/** Runs a `--json` command that must succeed and returns its parsed output. */
export async function cliJson<T = Record<string, unknown>>(args: string[], env: Env, run: CliRunner = runCliProcess): Promise<T> {
  const result = await run(['--json', ...args], env)
  if (result.code !== 0) throw new Error(`agentstore ${args.join(' ')} exited ${result.code}\nstderr: ${result.stderr}\nstdout: ${result.stdout}`)
  return JSON.parse(result.stdout) as T
}

export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  tempDirs.push(dir)
  return dir
}

/** For afterAll: kills what a failed step left running and removes the temporary directories. */
export async function cleanUpCliProcesses(): Promise<void> {
  await killChildren(children)
  await Promise.all(tempDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })))
}

export interface RunningServer {
  child: ChildProcess
  url: string
  logs: Record<string, unknown>[]
  stop(): Promise<number | null>
}

/** `agentstore serve` on PORT=0, resolved once it logs where it listens. */
export function startServer(env: Env): Promise<RunningServer> {
  const child = spawn(process.execPath, [...CLI_ARGS, 'serve'], {
    cwd: CLI_CWD,
    env: childEnv({ HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.add(child)
  const logs: Record<string, unknown>[] = []
  let stderr = ''
  let pending = ''
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      children.delete(child)
      resolve(code)
    }),
  )
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start in time\nstderr: ${stderr}`)), 90_000)
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
    child.stdout!.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8')
      const lines = pending.split('\n')
      pending = lines.pop()!
      for (const line of lines) {
        if (line.trim() === '') continue
        const entry = JSON.parse(line) as Record<string, unknown>
        logs.push(entry)
        if (typeof entry.msg === 'string' && entry.msg.startsWith('agentstore listening on ')) {
          clearTimeout(timer)
          resolve({
            child,
            url: entry.url as string,
            logs,
            async stop() {
              child.kill('SIGTERM')
              return exited
            },
          })
        }
      }
    })
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`the server exited (${code}) before listening\nstderr: ${stderr}`))
    })
  })
}
