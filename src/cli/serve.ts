import closeWithGrace from 'close-with-grace'
import type { Config } from '../config.js'
import { startServer, type StartOptions } from '../main.js'
import { releaseYoungGeneration } from '../platform/young-generation.js'

/** Runs the service until SIGTERM/SIGINT, then stops it cleanly. */
export async function serve(config: Config, options: StartOptions = {}): Promise<void> {
  const server = await startServer(config, options)
  releaseYoungGeneration()
  closeWithGrace({ delay: config.shutdownTimeoutMs + 5000 }, async ({ signal, err }) => {
    if (err) server.app.log.error({ err }, 'stopping after an unexpected error')
    server.app.log.info({ signal }, 'shutting down')
    await server.stop()
    server.app.log.info('stopped')
  })
}
