import { spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, chownSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { killChildren } from './helpers/children.js'

// There is no container engine here, so this follows the Dockerfile by hand as far as it can: it
// copies what the build stage copies, runs the build script, assembles what the runtime stage copies
// (read-only, owned by another user), then runs the image's ENTRYPOINT + CMD with its ENV as a
// non-root user and asks its HEALTHCHECK. Not checked: `npm ci`/`npm prune` (no network, the
// checkout's node_modules stands in) and the base image.

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const NOBODY = 65534
const asUser = process.getuid?.() === 0 ? { uid: NOBODY, gid: NOBODY } : {}

interface Stage {
  from: string
  name?: string
  copies: { from?: string; sources: string[]; target: string }[]
  env: Record<string, string>
  user?: string
  workdir?: string
  entrypoint?: string[]
  cmd?: string[]
  healthcheck?: string[]
}

/** The instructions this test needs, from a Dockerfile whose lines may continue with a backslash. */
function parseDockerfile(text: string): Stage[] {
  const lines = text.replace(/\\\n\s*/g, ' ').split('\n').map((line) => line.trim()).filter((line) => line && !line.startsWith('#'))
  const stages: Stage[] = []
  for (const line of lines) {
    const [, instruction = '', rest = ''] = /^(\w+)\s+(.*)$/.exec(line) ?? []
    const stage = stages.at(-1)
    switch (instruction.toUpperCase()) {
      case 'FROM': {
        const [image, as, name] = rest.split(/\s+/)
        stages.push({ from: image!, ...(as?.toUpperCase() === 'AS' ? { name } : {}), copies: [], env: {} })
        break
      }
      case 'COPY': {
        const words = rest.split(/\s+/)
        const from = words.find((word) => word.startsWith('--from='))?.slice('--from='.length)
        const paths = words.filter((word) => !word.startsWith('--'))
        stage!.copies.push({ ...(from ? { from } : {}), sources: paths.slice(0, -1), target: paths.at(-1)! })
        break
      }
      case 'ENV':
        for (const match of rest.matchAll(/(\w+)=(\S+)/g)) stage!.env[match[1]!] = match[2]!
        break
      case 'USER':
        stage!.user = rest
        break
      case 'WORKDIR':
        stage!.workdir = rest
        break
      case 'ENTRYPOINT':
        stage!.entrypoint = JSON.parse(rest) as string[]
        break
      case 'CMD':
        stage!.cmd = JSON.parse(rest) as string[]
        break
      case 'HEALTHCHECK':
        stage!.healthcheck = JSON.parse(rest.slice(rest.indexOf('CMD ') + 4)) as string[]
        break
    }
  }
  return stages
}

const stages = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))
const [build, runtime] = stages as [Stage, Stage]
const dirs: string[] = []
const children = new Set<ChildProcess>()

afterAll(async () => {
  await killChildren(children)
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

function run(command: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; user?: boolean }): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0]!, command.slice(1), { cwd: options.cwd, env: options.env ?? process.env, ...(options.user ? asUser : {}) })
    children.add(child)
    let output = ''
    child.stdout.on('data', (chunk) => (output += String(chunk)))
    child.stderr.on('data', (chunk) => (output += String(chunk)))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, output }))
  })
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

describe('Dockerfile', () => {
  it('has a build stage and a runtime stage that runs `serve` as a non-root user with /data as its data directory', () => {
    expect(stages).toHaveLength(2)
    expect(build.name).toBe('build')
    expect(runtime.copies.every((copy) => copy.from === 'build')).toBe(true)
    expect(runtime.user).toBe('node')
    expect(runtime.env).toMatchObject({ HOST: '0.0.0.0', DATA_DIR: '/data', NODE_ENV: 'production' })
    expect([...runtime.entrypoint!, ...runtime.cmd!]).toEqual(['node', 'bin/agentstore.js', 'serve'])
    expect(runtime.healthcheck?.join(' ')).toContain('/live')
    expect(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')).toMatch(/^VOLUME \["\/data", "\/backups"\]$/m)
  })

  it('builds with the npm scripts CI runs, and .dockerignore keeps none of what it copies out', () => {
    const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
    expect(text).toMatch(/RUN npm ci --no-audit --no-fund && npm prune --omit=dev/)
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
    expect(pkg.scripts.prepare).toBe('npm run build')
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').filter((line) => line && !line.startsWith('#'))
    const copied = build.copies.flatMap((copy) => copy.sources)
    expect(copied.filter((source) => ignored.includes(source))).toEqual([])
    for (const excluded of ['node_modules', 'dist', 'data', '.env', '.git']) expect(ignored).toContain(excluded)
  })

  it('its start command serves from a clean copy as a non-root user that cannot write the application files', { timeout: 300_000 }, async () => {
    const base = mkdtempSync(join(tmpdir(), 'agentstore-image-'))
    dirs.push(base)
    chmodSync(base, 0o755)
    const buildDir = join(base, 'build')
    mkdirSync(buildDir)
    for (const copy of build.copies) {
      for (const source of copy.sources) {
        const target = copy.target.endsWith('/') && copy.sources.length > 1 ? join(buildDir, source) : join(buildDir, copy.target === './' ? source : copy.target)
        cpSync(join(ROOT, source), target, { recursive: true })
      }
    }
    // Stands in for `npm ci` (no network here): the checkout's installed packages.
    symlinkSync(join(ROOT, 'node_modules'), join(buildDir, 'node_modules'))
    const built = await run(['npm', 'run', 'build'], { cwd: buildDir })
    expect(built.code, built.output).toBe(0)

    const app = join(base, 'app')
    mkdirSync(app)
    for (const copy of runtime.copies) {
      const source = copy.sources[0]!.replace(/^\/app\//, '')
      cpSync(join(buildDir, source), join(app, copy.target), { recursive: true, verbatimSymlinks: true })
    }
    chmodSync(app, 0o555)
    const data = join(base, 'data')
    const backups = join(base, 'backups')
    for (const dir of [data, backups]) {
      mkdirSync(dir)
      if ('uid' in asUser) chownSync(dir, NOBODY, NOBODY)
    }
    const before = readdirSync(app, { recursive: true }).sort()
    const port = await freePort()
    const env = {
      PATH: process.env.PATH,
      ...runtime.env,
      HOST: '127.0.0.1',
      PORT: String(port),
      DATA_DIR: data,
      BACKUP_DIR: backups,
      HOME: '/nonexistent',
      JOBS_ENABLED: 'true',
    }
    const command = [...runtime.entrypoint!, ...runtime.cmd!]
    const server = spawn(command[0]!, command.slice(1), { cwd: app, env, ...asUser })
    children.add(server)
    let log = ''
    server.stdout.on('data', (chunk) => (log += String(chunk)))
    server.stderr.on('data', (chunk) => (log += String(chunk)))
    const exited = new Promise<number | null>((resolve) => server.on('close', resolve))

    let healthy = false
    for (let attempt = 0; attempt < 240 && !healthy && server.exitCode === null; attempt++) {
      const check = await run(runtime.healthcheck!, { cwd: app, env, user: true })
      healthy = check.code === 0
      if (!healthy) await new Promise((resolve) => setTimeout(resolve, 500))
    }
    expect(healthy, log).toBe(true)
    const ready = await fetch(`http://127.0.0.1:${port}/ready`)
    expect(ready.status, log).toBe(200)
    // The admin console was built into the image and is served from it.
    const script = await fetch(`http://127.0.0.1:${port}/admin/assets/app.js`)
    expect(script.status, log).toBe(200)
    server.kill('SIGTERM')
    expect(await exited, log).toBe(0)
    expect(readdirSync(app, { recursive: true }).sort()).toEqual(before)
    expect(readdirSync(data).length).toBeGreaterThan(0)
  })
})
