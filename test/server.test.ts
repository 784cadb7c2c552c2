import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { CLI_ARGS, CLI_CWD, killChildren } from './helpers/children.js'
import { SETTINGS } from '../src/config.settings.js'

/*
 * `agentstore serve` as a subprocess on embedded PGlite: start on a fresh DATA_DIR, refusal of a
 * second server on the same directory, graceful stop on SIGTERM with a request in flight, restart
 * over the same data, takeover of a stale lock, and the bound on how long a stop may take.
 */

// Each step starts or stops servers (a fresh PGlite takes ~10 s, more when the machine is busy).
vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 })
const ADMIN_TOKEN = randomBytes(24).toString('hex')
const children = new Set<ChildProcess>()
let workDir = ''
let dataDir = ''

type Log = Record<string, unknown>

interface ServerProcess {
  child: ChildProcess
  pid: number
  logs: Log[]
  stderr(): string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** Resolves with the first log line (already written or to come) that matches. */
  waitForLog(match: (log: Log) => boolean, timeoutMs?: number): Promise<Log>
}

function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env }
  for (const name of Object.keys(SETTINGS)) delete base[name]
  return { ...base, DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ADMIN_TOKEN, RATE_LIMITS: 'off', ...env }
}

function spawnServer(env: Record<string, string> = {}): ServerProcess {
  const child = spawn(process.execPath, [...CLI_ARGS, 'serve'], {
    cwd: CLI_CWD,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.add(child)
  const logs: Log[] = []
  const waiters: { match: (log: Log) => boolean; resolve: (log: Log) => void }[] = []
  let stderr = ''
  let pending = ''
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
  child.stdout!.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8')
    const lines = pending.split('\n')
    pending = lines.pop()!
    for (const line of lines) {
      if (line.trim() === '') continue
      const log = JSON.parse(line) as Log
      logs.push(log)
      for (const waiter of [...waiters]) {
        if (waiter.match(log)) {
          waiters.splice(waiters.indexOf(waiter), 1)
          waiter.resolve(log)
        }
      }
    }
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => {
      children.delete(child)
      resolve({ code, signal })
    }),
  )
  return {
    child,
    pid: child.pid!,
    logs,
    stderr: () => stderr,
    exited,
    waitForLog(match, timeoutMs = 90_000) {
      const found = logs.find(match)
      if (found) return Promise.resolve(found)
      return new Promise<Log>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no such log line in ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs)
        const settle = (log: Log) => {
          clearTimeout(timer)
          resolve(log)
        }
        waiters.push({ match, resolve: settle })
        void exited.then(({ code }) => {
          clearTimeout(timer)
          reject(new Error(`the server exited (${code}) first; stderr: ${stderr}`))
        })
      })
    },
  }
}

const message = (text: string) => (log: Log) => typeof log.msg === 'string' && log.msg.startsWith(text)

/** Spawns a server and waits for its `agentstore listening on <url>` line. */
async function startServer(env: Record<string, string> = {}): Promise<ServerProcess & { url: string }> {
  const server = spawnServer(env)
  const listening = await server.waitForLog(message('agentstore listening on '))
  expect(listening.msg).toBe(`agentstore listening on ${listening.url as string}`)
  return { ...server, url: listening.url as string }
}

const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }

async function createGptWithKey(url: string, id: string): Promise<string> {
  const gpt = await fetch(`${url}/v1/admin/gpts`, { method: 'POST', headers: admin, body: JSON.stringify({ id, name: `GPT ${id}` }) })
  expect(gpt.status).toBe(201)
  const key = await fetch(`${url}/v1/admin/gpts/${id}/keys`, { method: 'POST', headers: admin, body: JSON.stringify({ scopes: ['read'] }) })
  expect(key.status).toBe(201)
  return ((await key.json()) as { key: string }).key
}

/**
 * A POST whose headers are sent now and whose body only when `finish()` is called: a request the
 * server has accepted and is still working on. The socket stays open after the response (keep-alive).
 */
function slowRequest(url: string, path: string, body: object) {
  const { hostname, port } = new URL(url)
  const requestId = `slow-${randomBytes(8).toString('hex')}`
  const text = JSON.stringify(body)
  const socket: Socket = connect(Number(port), hostname)
  let response = ''
  socket.on('data', (chunk: Buffer) => (response += chunk.toString('utf8')))
  socket.on('error', () => {})
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()))
  socket.write(
    `POST ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\nX-Request-Id: ${requestId}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text.slice(0, 4)}`,
  )
  return {
    /** The server has read the headers and routed the request (its log says so, under our request id). */
    accepted: (server: ServerProcess) => server.waitForLog((log) => log.reqId === requestId && log.msg === 'incoming request'),
    finish: () => socket.write(text.slice(4)),
    /** Resolves once the server has answered in full (or closed the connection). */
    async response(): Promise<{ status: number; headers: string; body: string }> {
      await new Promise<void>((resolve) => {
        const check = () => {
          const split = response.indexOf('\r\n\r\n')
          const length = /content-length: (\d+)/i.exec(response)
          if (split >= 0 && length && Buffer.byteLength(response.slice(split + 4)) >= Number(length[1])) return resolve()
        }
        socket.on('data', check)
        socket.on('close', () => resolve())
        check()
      })
      const split = response.indexOf('\r\n\r\n')
      return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0), headers: response.slice(0, split), body: response.slice(split + 4) }
    },
    received: () => response,
    closed,
    destroy: () => socket.destroy(),
  }
}

const lockPath = () => join(dataDir, 'agentstore.lock')
const socketPath = () => join(dataDir, 'agentstore.sock')
const readLockFile = () => JSON.parse(readFileSync(lockPath(), 'utf8')) as { pid: number; socket: string | null; started_at: string }

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'agentstore-server-'))
  dataDir = join(workDir, 'data')
})

afterAll(async () => {
  await killChildren(children)
  await rm(workDir, { recursive: true, force: true })
})

describe('agentstore serve on embedded PGlite', () => {
  let first: ServerProcess & { url: string }
  let keptKey = ''

  it('starts on a fresh DATA_DIR, logs where it listens, and answers /health, /live and /ready', async () => {
    first = await startServer({ SHUTDOWN_TIMEOUT_MS: '20000' })
    expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(first.logs.find(message('agentstore listening on'))).toMatchObject({ database: `embedded PGlite in ${dataDir}`, admin_api: 'on' })

    const health = await fetch(`${first.url}/health`)
    expect(health.status).toBe(200)
    // The house fields; the replaced systems' surfaces (COMPAT, all by default) add their own.
    expect(await health.json()).toMatchObject({ status: 'ok', version: expect.stringMatching(/^\d+\.\d+\.\d+/) })
    const live = await fetch(`${first.url}/live`)
    expect(live.status).toBe(200)
    expect(await live.json()).toMatchObject({ status: 'ok' })
    const ready = await fetch(`${first.url}/ready`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toMatchObject({
      status: 'ready',
      checks: { database: { ok: true, state: 'pglite' }, migrations: { ok: true, state: 'current' } },
    })
    expect(readLockFile()).toMatchObject({ pid: first.pid, socket: socketPath() })
    expect(statSync(socketPath()).isSocket()).toBe(true)
  })

  it('refuses a second server on the same DATA_DIR without opening it', async () => {
    const second = spawnServer()
    const { code } = await second.exited
    expect(code).toBe(1)
    expect(second.stderr()).toContain(`agentstore: the data directory ${dataDir} is in use by process ${first.pid}; PGlite allows one process per directory`)
    expect(second.logs.filter(message('agentstore listening on'))).toEqual([])
    // The first server still holds the directory and works.
    expect(readLockFile()).toMatchObject({ pid: first.pid, socket: socketPath() })
    const ready = await fetch(`${first.url}/ready`)
    expect(ready.status).toBe(200)
  })

  it('on SIGTERM stops accepting, finishes the request in flight, closes its connection, and exits 0', async () => {
    keptKey = await createGptWithKey(first.url, 'kept')

    const inFlight = slowRequest(first.url, '/v1/admin/gpts', { id: 'in-flight', name: 'Created during shutdown' })
    await inFlight.accepted(first)
    first.child.kill('SIGTERM')
    await first.waitForLog(message('shutting down'))
    expect(first.logs.find(message('shutting down'))).toMatchObject({ signal: 'SIGTERM' })

    // No new connections once the stop has begun.
    await new Promise((resolve) => setTimeout(resolve, 300))
    await expect(fetch(`${first.url}/health`)).rejects.toMatchObject({ cause: { code: 'ECONNREFUSED' } })
    expect(first.child.exitCode).toBeNull()
    expect(inFlight.received()).toBe('')

    // The request accepted before SIGTERM still completes, with the database still open.
    const finishedAt = Date.now()
    inFlight.finish()
    const answer = await inFlight.response()
    expect(answer.status).toBe(201)
    expect(JSON.parse(answer.body)).toMatchObject({ id: 'in-flight', name: 'Created during shutdown' })

    // Its keep-alive connection is closed once idle, and the stop does not wait out SHUTDOWN_TIMEOUT_MS (20 s).
    await inFlight.closed
    const exit = await first.exited
    expect(exit).toEqual({ code: 0, signal: null })
    expect(Date.now() - finishedAt).toBeLessThan(10_000)
    expect(first.logs.find(message('stopped'))).toBeDefined()
    expect(first.logs.filter(message('in-flight requests did not finish in time'))).toEqual([])
    expect(first.stderr()).toBe('')
    expect(existsSync(lockPath())).toBe(false)
    expect(existsSync(socketPath())).toBe(false)
  })

  let restarted: ServerProcess & { url: string }

  it('takes over a stale lock (dead pid) and restarts over the same data', async () => {
    const dead = spawnSync(process.execPath, ['-e', '']).pid
    expect(() => process.kill(dead, 0)).toThrow()
    writeFileSync(lockPath(), JSON.stringify({ pid: dead, socket: socketPath(), started_at: new Date(0).toISOString() }))
    writeFileSync(socketPath(), 'not a socket') // a leftover of the dead process

    restarted = await startServer({ SHUTDOWN_TIMEOUT_MS: '1500' })
    expect(readLockFile()).toMatchObject({ pid: restarted.pid, socket: socketPath() })
    expect(statSync(socketPath()).isSocket()).toBe(true)

    const list = await fetch(`${restarted.url}/v1/admin/gpts`, { headers: admin })
    expect(list.status).toBe(200)
    const { gpts } = (await list.json()) as { gpts: { id: string; name: string }[] }
    expect(gpts.map((gpt) => gpt.id).sort()).toEqual(['in-flight', 'kept'])
    expect(gpts.find((gpt) => gpt.id === 'in-flight')).toMatchObject({ name: 'Created during shutdown' })

    const withKey = await fetch(`${restarted.url}/v1/gpts/kept`, { headers: { authorization: `Bearer ${keptKey}` } })
    expect(withKey.status).toBe(200)
    expect(await withKey.json()).toMatchObject({ id: 'kept', name: 'GPT kept' })
    const ready = await fetch(`${restarted.url}/ready`)
    expect(ready.status).toBe(200)
  })

  it('bounds the stop by SHUTDOWN_TIMEOUT_MS when a request never finishes, and still exits 0', async () => {
    const stuck = slowRequest(restarted.url, '/v1/admin/gpts', { id: 'never', name: 'Never finished' })
    await stuck.accepted(restarted)
    const signalledAt = Date.now()
    restarted.child.kill('SIGTERM')

    const exit = await restarted.exited
    const took = Date.now() - signalledAt
    expect(exit).toEqual({ code: 0, signal: null })
    expect(took).toBeGreaterThanOrEqual(1400)
    expect(took).toBeLessThan(10_000)
    expect(restarted.logs.find(message('in-flight requests did not finish in time; closing connections'))).toMatchObject({ level: 40 })
    expect(restarted.logs.find(message('stopped'))).toBeDefined()
    await stuck.closed
    expect(stuck.received()).toBe('')
    expect(existsSync(lockPath())).toBe(false)
    expect(existsSync(socketPath())).toBe(false)
  })
})
