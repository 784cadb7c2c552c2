import { request as httpRequest } from 'node:http'
import type { OperationName } from './operations.js'

// The CLI's side of the admin channel (see admin-channel.ts), apart so that a command sent to a
// running server loads none of the service.

/** A failure reported by the server at the other end of the channel. */
export class RemoteOperationError extends Error {
  constructor(
    readonly status: number,
    readonly problem: { title?: string; detail?: string; errors?: unknown },
  ) {
    super(problem.detail ?? problem.title ?? `failed with status ${status}`)
    this.name = 'RemoteOperationError'
  }
}

/** Asks the server listening on `path` to run an operation. */
export function callAdminChannel(path: string, name: OperationName, args: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify(args)
    const req = httpRequest(
      { socketPath: path, path: `/operations/${name}`, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          let parsed: unknown
          try {
            parsed = JSON.parse(text)
          } catch {
            return reject(new Error(`the server answered something that is not JSON: ${text.slice(0, 200)}`))
          }
          if ((res.statusCode ?? 500) >= 400) return reject(new RemoteOperationError(res.statusCode ?? 500, parsed as never))
          resolve(parsed)
        })
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}
