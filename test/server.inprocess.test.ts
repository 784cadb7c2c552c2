import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { callAdminChannel, RemoteOperationError } from '../src/cli/admin-channel.client.js'
import { loadConfig } from '../src/config.js'
import { publicUrlWarning, startServer, type RunningServer } from '../src/main.js'
import { acquireDataDirLock, adminSocketPath, DataDirBusyError, readLock } from '../src/platform/db/data-dir-lock.js'

// The embedded server in this process: start, the local admin channel the CLI uses, the data
// directory lock, and a clean stop. test/server.test.ts drives the real binary.

const dirs: string[] = []
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'agentstore-srv-'))
  dirs.push(dir)
  return dir
}
type Log = { level: number; msg: string } & Record<string, unknown>
const logs: Log[] = []
let dataDir: string
let server: RunningServer
let socket: string

beforeAll(async () => {
  dataDir = tempDir()
  const env = { DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info', RATE_LIMITS: 'off', SHUTDOWN_TIMEOUT_MS: '2000', PUBLIC_URL: 'http://store.example.com' }
  server = await startServer(loadConfig(env), { logDestination: { write: (line: string) => void logs.push(JSON.parse(line) as Log) } })
  socket = readLock(dataDir)!.socket!
}, 60_000)

afterAll(async () => {
  await server?.stop()
  for (const dir of dirs) await rm(dir, { recursive: true, force: true })
})

function rawChannelCall(path: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, path, method: 'POST' }, (res) => {
      let text = ''
      res.on('data', (chunk: Buffer) => (text += chunk.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

describe('embedded server in process', () => {
  it('listens, is ready, and records itself in the lock with its admin socket', async () => {
    expect((await fetch(`${server.url}/health`)).status).toBe(200)
    const ready = await fetch(`${server.url}/ready`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { database: { ok: true, state: 'pglite' }, migrations: { ok: true } } })
    expect(readLock(dataDir)).toMatchObject({ pid: process.pid, socket: adminSocketPath(dataDir) })
    expect(existsSync(socket)).toBe(true)
  })

  it('logs once at start that a plain-http PUBLIC_URL on another host will not do for GPT Actions', () => {
    const warnings = logs.filter((log) => log.level === 40)
    expect(warnings).toEqual([
      expect.objectContaining({
        public_url: 'http://store.example.com',
        msg: 'PUBLIC_URL http://store.example.com is plain http on a host other than this machine; GPT Actions require https: serve it behind a TLS proxy and set PUBLIC_URL=https://…',
      }),
    ])
  })

  it.each([
    { url: 'http://127.0.0.1:8080', warns: false },
    { url: 'http://localhost:8080', warns: false },
    { url: 'http://[::1]:8080', warns: false },
    { url: 'https://store.example.com', warns: false },
    { url: 'http://0.0.0.0:8080', warns: true },
    { url: 'http://10.1.2.3', warns: true },
  ])('PUBLIC_URL $url: warning $warns', ({ url, warns }) => {
    expect(publicUrlWarning(url) !== null).toBe(warns)
  })

  it('logs where its settings came from and first steps with the CLI by path and this data directory', () => {
    expect(logs.find((log) => log.msg.startsWith('agentstore listening on '))).toMatchObject({ settings: 'environment' })
    // Relative to the working directory (the repository root, here).
    const cli = `./bin/agentstore.js --data-dir ${dataDir}`
    expect(logs.map((log) => log.msg)).toContain(`first steps: \`${cli} gpt create my-gpt --name "My GPT"\` then \`${cli} key create my-gpt\``)
  })

  it('runs CLI operations over the admin channel, on the data the server serves', async () => {
    const gpt = (await callAdminChannel(socket, 'gpt.create', { id: 'chan-gpt', name: 'Channel' })) as { id: string }
    expect(gpt.id).toBe('chan-gpt')
    const key = (await callAdminChannel(socket, 'key.create', { gpt_id: 'chan-gpt', scopes: ['read'] })) as { key: string }
    const response = await fetch(`${server.url}/v1/gpts/chan-gpt`, { headers: { authorization: `Bearer ${key.key}` } })
    expect(response.status).toBe(200)
    const listed = (await callAdminChannel(socket, 'gpt.list', {})) as { id: string }[]
    expect(listed.map((g) => g.id)).toContain('chan-gpt')
  })

  it('serves its signing key, and an account the CLI creates over the admin channel logs in', async () => {
    const jwks = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as { keys: { alg: string; kid: string }[] }
    expect(jwks.keys).toEqual([expect.objectContaining({ alg: 'ES256', kid: expect.any(String) })])
    const made = (await callAdminChannel(socket, 'account.create', { email: 'chan@example.com' })) as { password: string; key: string }
    const login = await fetch(`${server.url}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'chan@example.com', password: made.password }),
    })
    expect(login.status).toBe(200)
    const { access_token } = (await login.json()) as { access_token: string }
    const me = await fetch(`${server.url}/v1/accounts/me`, { headers: { authorization: `Bearer ${access_token}` } })
    expect(await me.json()).toMatchObject({ email: 'chan@example.com' })
  })

  it('answers bad operations with problems, never a crash', async () => {
    const invalid = await callAdminChannel(socket, 'gpt.create', { id: 'bad id', name: 'x' }).catch((error: unknown) => error)
    expect(invalid).toBeInstanceOf(RemoteOperationError)
    expect((invalid as RemoteOperationError).status).toBe(422)
    expect((invalid as RemoteOperationError).problem.errors).toEqual([expect.objectContaining({ pointer: '/id' })])
    const taken = await callAdminChannel(socket, 'gpt.create', { id: 'chan-gpt', name: 'again' }).catch((error: unknown) => error)
    expect((taken as RemoteOperationError).status).toBe(409)
    expect(await rawChannelCall('/operations/no.such', '{}')).toMatchObject({ status: 404 })
    expect(await rawChannelCall('/operations/gpt.list', '{not json')).toMatchObject({ status: 400 })
    expect((await rawChannelCall('/operations/gpt.list', 'x'.repeat(70_000))).status).toBe(413)
    expect((await fetch(`${server.url}/health`)).status).toBe(200)
  })
})

describe('data directory lock', () => {
  it('refuses a directory held by another live process, naming it', () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'agentstore.lock'), JSON.stringify({ pid: 1, socket: null, started_at: new Date().toISOString() }))
    expect(() => acquireDataDirLock(dir)).toThrow(DataDirBusyError)
    expect(() => acquireDataDirLock(dir)).toThrow(/in use by process 1; PGlite allows one process per directory/)
  })

  it('takes over a lock left by a dead process, and releases it', () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'agentstore.lock'), JSON.stringify({ pid: 2 ** 22 + 12345, socket: null, started_at: '2020-01-01T00:00:00Z' }))
    const lock = acquireDataDirLock(dir)
    expect(readLock(dir)?.pid).toBe(process.pid)
    lock.update({ socket: '/tmp/x.sock' })
    expect(readLock(dir)?.socket).toBe('/tmp/x.sock')
    lock.release()
    lock.release()
    expect(existsSync(join(dir, 'agentstore.lock'))).toBe(false)
  })

  it('puts the socket of a long data directory in the temp dir (Unix socket paths are short)', () => {
    const long = join(tmpdir(), 'x'.repeat(120))
    expect(adminSocketPath(long)).toMatch(new RegExp(`^${tmpdir()}/agentstore-[0-9a-f]{16}\\.sock$`))
    expect(adminSocketPath('/tmp/short')).toBe('/tmp/short/agentstore.sock')
  })

  it('a clean stop removes the lock and the socket', async () => {
    await server.stop()
    expect(existsSync(join(dataDir, 'agentstore.lock'))).toBe(false)
    expect(existsSync(socket)).toBe(false)
    await server.stop()
  })
})
