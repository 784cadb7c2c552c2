import cors, { type FastifyCorsOptions } from '@fastify/cors'
import type { FastifyInstance, FastifyRequest } from 'fastify'

/** What a browser script may read of an answer besides the safelisted headers. */
export const EXPOSED_HEADERS = [
  'Link',
  'ETag',
  'Location',
  'Retry-After',
  'RateLimit-Limit',
  'RateLimit-Remaining',
  'RateLimit-Reset',
  'X-Request-Id',
  'Idempotent-Replayed',
]

/**
 * CORS for browser clients (CORS_ORIGINS). Listed origins may send credentials (cookies and the
 * Authorization header); `*` allows any origin, never with credentials. Preflights answer 204 before
 * authentication, as browsers send them without credentials.
 */
export async function registerCors(app: FastifyInstance, origins: string[] | '*' | null): Promise<void> {
  if (origins === null) return
  const common = {
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    // X-API-Key: FastWrap's clients send their key there (docs/compat.md).
    allowedHeaders: ['Agentstore-GPT', 'Authorization', 'Content-Type', 'Idempotency-Key', 'If-Match', 'Last-Event-ID', 'X-API-Key', 'X-Request-Id'],
    exposedHeaders: EXPOSED_HEADERS,
    maxAge: 600,
    optionsSuccessStatus: 204,
  }
  // Decided per request, so that an origin not listed gets no CORS header at all (not even credentials).
  await app.register(cors, () => (request: FastifyRequest, callback: (error: Error | null, options: FastifyCorsOptions) => void) => {
    if (origins === '*') return callback(null, { ...common, origin: '*', credentials: false })
    const origin = request.headers.origin
    const listed = typeof origin === 'string' && origins.includes(origin)
    callback(null, { ...common, origin: listed ? origin : false, credentials: listed })
  })
}
