import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync, closeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** What the process holding a data directory says about itself. */
export interface LockInfo {
  pid: number
  /** The local admin channel of a running server, when it has one. */
  socket: string | null
  started_at: string
}

export class DataDirBusyError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: LockInfo,
  ) {
    super(
      `the data directory ${dataDir} is in use by process ${holder.pid}; PGlite allows one process per directory` +
        (holder.socket ? '' : ' (stop it, or run the service on PostgreSQL with DATABASE_URL)'),
    )
    this.name = 'DataDirBusyError'
  }
}

export interface DataDirLock {
  readonly path: string
  /** Records the admin channel once the server listens on it. */
  update(info: Partial<LockInfo>): void
  release(): void
}

/** Unix socket paths are limited to ~107 bytes; long data dirs get a socket named by their hash in the temp dir. */
export function adminSocketPath(dataDir: string): string {
  const inDir = join(dataDir, 'agentstore.sock')
  if (Buffer.byteLength(inDir) < 100) return inDir
  return join(tmpdir(), `agentstore-${createHash('sha256').update(dataDir).digest('hex').slice(0, 16)}.sock`)
}

/** Whether a process with this pid exists (EPERM: it does, owned by another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Whether `dir` holds an embedded database (or a process is making one there right now). */
export function isDataDir(dir: string): boolean {
  return existsSync(join(dir, 'PG_VERSION')) || existsSync(join(dir, 'agentstore.lock'))
}

export function readLock(dataDir: string): LockInfo | null {
  try {
    return JSON.parse(readFileSync(join(dataDir, 'agentstore.lock'), 'utf8')) as LockInfo
  } catch {
    return null
  }
}

/**
 * Takes the data directory for this process, so that a second process (a CLI beside a running
 * server) can never open the same PGlite files. A lock left by a dead process is taken over.
 */
export function acquireDataDirLock(dataDir: string): DataDirLock {
  mkdirSync(dataDir, { recursive: true })
  const path = join(dataDir, 'agentstore.lock')
  let info: LockInfo = { pid: process.pid, socket: null, started_at: new Date().toISOString() }
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600)
      writeSync(fd, JSON.stringify(info))
      closeSync(fd)
      let released = false
      return {
        path,
        update(partial) {
          info = { ...info, ...partial }
          const fd = openSync(path, 'w', 0o600)
          writeSync(fd, JSON.stringify(info))
          closeSync(fd)
        },
        release() {
          if (released) return
          released = true
          try {
            unlinkSync(path)
          } catch {
            // Already gone: nothing to release.
          }
        },
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const holder = readLock(dataDir)
      if (holder && holder.pid !== process.pid && processAlive(holder.pid)) throw new DataDirBusyError(dataDir, holder)
      unlinkSync(path)
    }
  }
  throw new Error(`could not lock ${dataDir}`)
}
