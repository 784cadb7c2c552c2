import { createServer } from 'node:net'

/** The service cannot listen where HOST and PORT say; the message names both and what to change. */
export class ListenError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ListenError'
  }
}

/** The listen failure as one line naming host:port and the setting to change, or the error itself when it is another. */
export function listenError(error: unknown, host: string, port: number): unknown {
  const at = `${host.includes(':') ? `[${host}]` : host}:${port}`
  switch ((error as NodeJS.ErrnoException).code) {
    case 'EADDRINUSE':
      return new ListenError(`cannot listen on ${at}: the port is already in use (another agentstore or another program); set PORT to a free port`)
    case 'EACCES':
      return new ListenError(`cannot listen on ${at}: no permission (ports below 1024 need privileges); set PORT to 1024 or above`)
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return new ListenError(`cannot listen on ${at}: ${host} is not an address of this machine; set HOST (127.0.0.1, or 0.0.0.0 for every interface)`)
    default:
      return error
  }
}

/**
 * Tries HOST:PORT before anything else starts, so that a taken port stops the start at once with a
 * plain sentence, instead of after the database was opened (or made) and migrated. PORT=0 always works.
 */
export async function checkListen(host: string, port: number): Promise<void> {
  if (port === 0) return
  await new Promise<void>((resolve, reject) => {
    const probe = createServer()
    probe.once('error', (error) => reject(listenError(error, host, port)))
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()))
  })
}
