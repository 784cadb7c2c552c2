import type { OutgoingHttpHeaders, ServerResponse } from 'node:http'
import type { FastifyReply, FastifyRequest } from 'fastify'

/**
 * Takes the response over from Fastify and starts a Server-Sent Events stream: no caching or proxy
 * buffering, and a 2 s reconnection delay for EventSource clients. The headers hooks set so far
 * (request id, nosniff, rate limits) are written too: Fastify no longer writes them once hijacked.
 */
export function openEventStream(request: FastifyRequest, reply: FastifyReply): ServerResponse {
  const headers: OutgoingHttpHeaders = {}
  for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) headers[name] = value
  reply.hijack()
  const raw = reply.raw
  raw.writeHead(200, {
    ...headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-request-id': request.id,
  })
  raw.write('retry: 2000\n\n')
  return raw
}
