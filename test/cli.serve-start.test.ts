import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { runCliIn } from './helpers/cli.js'
import { restoreEnv } from './helpers/env.js'

// `serve` that cannot start: it says why naming the setting to change, exits 1, and has made nothing
// (no data directory) by then. Settings come from the environment and `.env` in the working directory.

const saved = { ...process.env }
const dirs: string[] = []
let cwd = ''
let taken: Server
let takenPort = 0

beforeAll(async () => {
  taken = createServer()
  await new Promise<void>((resolve) => taken.listen({ host: '127.0.0.1', port: 0 }, resolve))
  takenPort = (taken.address() as { port: number }).port
})
afterAll(async () => {
  await new Promise((resolve) => taken.close(resolve))
  for (const dir of dirs) await rm(dir, { recursive: true, force: true })
})
beforeEach(() => {
  cwd = mkdtempSync(join(tmpdir(), 'agentstore-serve-'))
  dirs.push(cwd)
  for (const name of ['DATA_DIR', 'DATABASE_URL', 'REDIS_URL', 'PORT', 'HOST', 'PUBLIC_URL']) delete process.env[name]
  process.env.JOBS_ENABLED = 'false'
  process.env.LOG_LEVEL = 'silent'
})
afterEach(() => {
  restoreEnv(saved)
})

describe('serve where it cannot listen', () => {
  it.each([
    {
      setting: 'PORT (a port in use)',
      env: (): Record<string, string> => ({ PORT: String(takenPort) }),
      line: (): string => `cannot listen on 127.0.0.1:${takenPort}: the port is already in use (another agentstore or another program); set PORT to a free port`,
    },
    {
      // TEST-NET-1 (RFC 5737): never an address of this machine.
      setting: 'HOST (not an address here)',
      env: (): Record<string, string> => ({ HOST: '192.0.2.1', PORT: '18081' }),
      line: (): string => 'cannot listen on 192.0.2.1:18081: 192.0.2.1 is not an address of this machine; set HOST (127.0.0.1, or 0.0.0.0 for every interface)',
    },
  ])('$setting: says so in one line naming the setting, exits 1, and makes no data directory', async ({ env, line }) => {
    Object.assign(process.env, env())
    const result = await runCliIn(cwd, 'serve')
    expect(result).toEqual({ code: 1, stdout: '', stderr: `agentstore: ${line()}\n` })
    expect(readdirSync(cwd)).toEqual([])
    const json = await runCliIn(cwd, '--json', 'serve')
    expect(json).toEqual({ code: 1, stdout: '', stderr: `${JSON.stringify({ error: line() })}\n` })
  })
})

describe('.env in the working directory', () => {
  const portTaken = (): string =>
    `agentstore: cannot listen on 127.0.0.1:${takenPort}: the port is already in use (another agentstore or another program); set PORT to a free port\n`

  it('is read at start: a bad value in it stops serve, naming the variable and the file', async () => {
    writeFileSync(join(cwd, '.env'), '# local settings\nLOG_LEVEL=silent\nPORT=eighty\n')
    const result = await runCliIn(cwd, 'serve')
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'agentstore: invalid configuration:\n  PORT="eighty": expected a whole number from 0 to 65535\n' +
        `  (settings come from the environment and from ${join(cwd, '.env')}; the environment wins)\n`,
    })
    expect(readdirSync(cwd)).toEqual(['.env'])
    expect(process.env.PORT).toBeUndefined()
  })

  it('gives its values to every command', async () => {
    writeFileSync(join(cwd, '.env'), `PORT=${takenPort}\nDATABASE_URL="mysql://nowhere"\n`)
    expect(await runCliIn(cwd, 'gpt', 'list')).toMatchObject({ code: 1, stderr: expect.stringMatching(/DATABASE_URL: expected a URL starting with postgres:/) })
    writeFileSync(join(cwd, '.env'), `PORT=${takenPort}\n`)
    expect(await runCliIn(cwd, 'serve')).toEqual({ code: 1, stdout: '', stderr: portTaken() })
  })

  it('loses to the real environment', async () => {
    writeFileSync(join(cwd, '.env'), 'PORT=eighty\nHOST=192.0.2.1\n')
    process.env.PORT = String(takenPort)
    process.env.HOST = '127.0.0.1'
    expect(await runCliIn(cwd, 'serve')).toEqual({ code: 1, stdout: '', stderr: portTaken() })
    expect(process.env.PORT).toBe(String(takenPort))
  })

  it('that cannot be read stops the start, naming it', async () => {
    mkdirSync(join(cwd, '.env'))
    const result = await runCliIn(cwd, 'serve')
    expect(result.code).toBe(1)
    expect(result.stderr).toBe(`agentstore: invalid configuration:\n  ${join(cwd, '.env')}: cannot be read (EISDIR)\n`)
  })
})
