import { mkdirSync } from 'node:fs'
import type { PGlite } from '@electric-sql/pglite'
import { acquireDataDirLock, type DataDirLock } from './data-dir-lock.js'

/**
 * PGlite's shared buffers live in its WebAssembly memory, and Postgres touches every page of them at
 * start: at Postgres's default of 128 MB they were the larger part of an idle server's RSS. Reads past
 * them come from the operating system's file cache, so a small pool costs little on a small database.
 */
export const PGLITE_SHARED_BUFFERS_MB = 16

export interface PgliteSource {
  /** On disk, or in memory when absent (optionally starting from a dumped data dir, as tests do). */
  dataDir?: string
  loadDataDir?: Blob
  sharedBuffersMb?: number
}

/**
 * Opens embedded PGlite with the pgvector extension. This module imports nothing else of the service
 * (nor Kysely or pg), so that `serve` can start the open, whose WebAssembly compiles off the main
 * thread, before the rest of the service's modules load (see cli/serve.ts).
 */
export async function openPglite(source: PgliteSource): Promise<PGlite> {
  if (source.dataDir) mkdirSync(source.dataDir, { recursive: true })
  // Loaded only here: a service on PostgreSQL never loads PGlite and its WebAssembly.
  const [{ PGlite }, { vector }] = await Promise.all([import('@electric-sql/pglite'), import('@electric-sql/pglite-pgvector')])
  return PGlite.create({
    ...(source.dataDir ? { dataDir: source.dataDir } : {}),
    ...(source.loadDataDir ? { loadDataDir: source.loadDataDir } : {}),
    extensions: { vector },
    startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${source.sharedBuffersMb ?? PGLITE_SHARED_BUFFERS_MB}MB`],
  })
}

/** DATA_DIR locked for this process and PGlite opening in it. */
export interface EmbeddedOpening {
  lock: DataDirLock
  pglite: Promise<PGlite>
  /** Gives up an open that nothing will use: closes the instance (once it has opened) and unlocks the directory. */
  abandon(): Promise<void>
}

/** Locks the data directory (DataDirBusyError when another process has it), then starts opening it. */
export function startEmbedded(dataDir: string, sharedBuffersMb?: number): EmbeddedOpening {
  const lock = acquireDataDirLock(dataDir)
  const pglite = openPglite({ dataDir, ...(sharedBuffersMb !== undefined ? { sharedBuffersMb } : {}) })
  // Awaited by openConfiguredDatabase; until then a failure must not count as unhandled.
  pglite.catch(() => {})
  return {
    lock,
    pglite,
    async abandon() {
      // An open that failed half way still holds the WebAssembly instance and its files.
      await pglite.then((instance) => instance.close()).catch(() => {})
      lock.release()
    },
  }
}
