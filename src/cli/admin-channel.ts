import { chmodSync, unlinkSync } from 'node:fs'
import { createServer, type IncomingMessage } from 'node:http'
import type { Database } from '../platform/db/database.js'
import { AppError, ERR } from '../platform/errors.js'
import type { Services } from '../services.js'
import { isOperationName, runOperation, type OperationName } from './operations.js'

const MAX_BODY = 64 * 1024

export interface AdminChannel {
  path: string
  close(): Promise<void>
}

async function readBody(request: IncomingMessage): Promise<string> {
  let size = 0
  const chunks: Buffer[] = []
  for await (const chunk of request) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY) throw ERR.payloadTooLarge(`Operation arguments are limited to ${MAX_BODY} bytes.`)
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}

function parseArgs(text: string): unknown {
  if (text === '') return {}
  try {
    return JSON.parse(text)
  } catch {
    throw ERR.badRequest('Operation arguments must be JSON.')
  }
}

/**
 * The embedded server's local admin channel: a Unix socket readable only by the server's user, so
 * that the CLI can run operations while the server holds the PGlite data directory. It is not
 * reachable over the network and carries no token: file permissions are the credential.
 */
export async function startAdminChannel(path: string, services: Services, database: Database): Promise<AdminChannel> {
  const server = createServer(async (request, response) => {
    const name = (request.url ?? '').replace(/^\/operations\//, '')
    const reply = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': status < 400 ? 'application/json' : 'application/problem+json' })
      response.end(JSON.stringify(body))
    }
    if (request.method !== 'POST' || !isOperationName(name)) {
      return reply(404, { title: 'Not Found', status: 404, detail: `No operation ${JSON.stringify(name)}.` })
    }
    try {
      const text = await readBody(request)
      const result = await runOperation({ services, database }, name, parseArgs(text))
      reply(200, result)
    } catch (error) {
      if (error instanceof AppError) {
        return reply(error.status, { title: error.title, status: error.status, detail: error.detail, errors: error.extra.errors })
      }
      reply(500, { title: 'Internal Server Error', status: 500, detail: (error as Error).message })
    }
  })
  try {
    unlinkSync(path)
  } catch {
    // No stale socket to remove.
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(path, () => resolve())
  })
  chmodSync(path, 0o600)
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
