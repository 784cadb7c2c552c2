import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createInterface } from 'node:readline'
import pg from 'pg'
import { inject } from 'vitest'
import { openDatabase } from '../../src/platform/db/database.js'
import { migrateToLatest } from '../../src/platform/db/migrate.js'
import { CLI_ARGS, CLI_CWD } from './children.js'


/** A real service process (`agentstore serve` from the build), started by a test. */
export interface ServiceProcess {
  url: string
  /** The `agentstore listening on …` log line. */
  listening: { url: string; events: string; database: string }
  output: string[]
  child: ChildProcess
  stop(): Promise<void>
}

/** Settings a test may mean to set: never taken from the runner's environment by accident. */
const OWN = ['REDIS_URL', 'REDIS_PREFIX', 'DATABASE_URL', 'TEST_DATABASE_URL', 'PORT', 'HOST', 'DATA_DIR', 'PUBLIC_URL', 'RATE_LIMITS', 'ADMIN_TOKEN']

/** The environment of a child process of a test: the runner's, minus the settings above, plus `env`. */
export function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const inherited = { ...process.env }
  for (const key of OWN) delete inherited[key]
  return { ...inherited, LOG_LEVEL: 'info', ...env }
}

/** Starts `agentstore serve` on a free port and resolves once it logs that it listens. */
export function startService(name: string, env: Record<string, string>): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [...CLI_ARGS, 'serve'], {
    cwd: CLI_CWD,
    // Pools of five connections, as a test file's own: four files at once stay well within the server's 100.
    env: childEnv({ HOST: '127.0.0.1', PORT: '0', RATE_LIMITS: 'off', JOBS_ENABLED: 'false', SSE_HEARTBEAT_MS: '1000', DATABASE_POOL_SIZE: '5', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const output: string[] = []
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve()
      const force = setTimeout(() => child.kill('SIGKILL'), 5000)
      child.once('exit', () => {
        clearTimeout(force)
        resolve()
      })
      child.kill('SIGTERM')
    })
  return new Promise((resolve, reject) => {
    const fail = (reason: string) => reject(new Error(`${name}: ${reason}\n${output.slice(-30).join('\n')}`))
    const timer = setTimeout(() => {
      fail('did not start within 80 s')
      void stop()
    }, 80_000)
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      fail(`exited (${code ?? signal})`)
    })
    createInterface({ input: child.stderr! }).on('line', (line) => output.push(`[stderr] ${line}`))
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output.push(line)
      let parsed: { msg?: string; url?: string; events?: string; database?: string }
      try {
        parsed = JSON.parse(line) as typeof parsed
      } catch {
        return
      }
      if (parsed.msg?.startsWith('agentstore listening on') && parsed.url) {
        clearTimeout(timer)
        resolve({ url: parsed.url, listening: parsed as ServiceProcess['listening'], output, child, stop })
      }
    })
  })
}

/** On failure, the warnings and errors the processes logged go with the error. */
export async function withLogs(services: ServiceProcess[], run: () => Promise<void>): Promise<void> {
  try {
    await run()
  } catch (error) {
    const logged = services.flatMap((service, index) =>
      service.output.filter((line) => line.startsWith('[stderr]') || /"level":(4|5|6)\d/.test(line)).map((line) => `${'ABCDEFGH'[index]}: ${line}`),
    )
    if (error instanceof Error) error.message += `\nprocess warnings and errors:\n${logged.join('\n') || '(none)'}`
    throw error
  }
}

/**
 * A new, migrated PostgreSQL database on the test server, for processes a test starts (migrated here,
 * so that several processes can start on it together): a copy of the run's template when there is one.
 */
export async function migratedPostgresDatabase(serverUrl: string, prefix: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: serverUrl })
    await client.connect()
    try {
      await client.query(sql)
    } finally {
      await client.end()
    }
  }
  const template = inject('pgTemplate')
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  const drop = () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  if (template) {
    await admin(`CREATE DATABASE ${name} TEMPLATE ${template}`)
    return { url: url.toString(), drop }
  }
  await admin(`CREATE DATABASE ${name}`)
  const database = await openDatabase({ kind: 'postgres', url: url.toString(), poolSize: 1 })
  await migrateToLatest(database.db)
  await database.close()
  return { url: url.toString(), drop }
}

/** One JSON request to a service process with a Bearer token; the body parsed when there is one. */
export async function callService<T>(base: string, method: 'GET' | 'POST', path: string, token: string, body?: unknown) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await response.text()
  return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : null) as T }
}
