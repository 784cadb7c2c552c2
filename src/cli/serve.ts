import closeWithGrace from 'close-with-grace'
import type { Config } from '../config.js'
import type { StartOptions } from '../main.js'
import { checkListen } from '../platform/listen-check.js'
import { startEmbedded, type EmbeddedOpening } from '../platform/db/pglite-open.js'
import { releaseYoungGeneration } from '../platform/young-generation.js'

/** Runs the service until SIGTERM/SIGINT, then stops it cleanly. */
export async function serve(config: Config, options: StartOptions = {}): Promise<void> {
  // A taken port still stops the start before the data directory is touched.
  await checkListen(config.host, config.port)
  // PGlite's open (its WebAssembly compiled off the main thread, its files read) starts before the
  // service's modules load, which takes as long again: the two overlap instead of following each other.
  const embedded: EmbeddedOpening | undefined = config.databaseUrl === null ? startEmbedded(config.dataDir, config.pgliteSharedBuffersMb) : undefined
  const { startServer } = await import('../main.js').catch(async (error: unknown) => {
    // startServer would have closed the database; it never ran.
    await embedded?.abandon()
    throw error
  })
  const server = await startServer(config, { ...options, ...(embedded ? { embedded } : {}) })
  releaseYoungGeneration()
  closeWithGrace({ delay: config.shutdownTimeoutMs + 5000 }, async ({ signal, err }) => {
    if (err) server.app.log.error({ err }, 'stopping after an unexpected error')
    server.app.log.info({ signal }, 'shutting down')
    await server.stop()
    server.app.log.info('stopped')
  })
}
