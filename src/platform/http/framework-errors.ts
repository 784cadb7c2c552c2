import { randomUUID } from 'node:crypto'
import { maxHeaderSize, STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { AppError, ErrorCode } from '../errors.js'
import { ANSWER_HEADERS } from './headers.plugin.js'
import { PROBLEM_CONTENT_TYPE, sendProblem } from './problem.plugin.js'

/**
 * The longest path segment the router matches. The service's own identifiers are far shorter; a
 * longer one still reaches its route, whose validation answers 422 or 404 naming the parameter.
 */
export const MAX_PARAM_LENGTH = 1024

function frameworkProblem(error: FastifyError): AppError {
  switch (error.code) {
    case 'FST_ERR_BAD_URL':
      return new AppError(ErrorCode.BadRequest, 'The path is not valid percent-encoded UTF-8.')
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new AppError(ErrorCode.UriTooLong, `A path segment is longer than ${MAX_PARAM_LENGTH} characters.`)
    default:
      return new AppError(ErrorCode.Internal, 'An unexpected error occurred; the log has the details under this request id.')
  }
}

/**
 * Errors Fastify's router meets before any route, hook or error handler runs (Fastify's
 * `frameworkErrors`): answered as problems too, with the headers every answer carries.
 */
export function answerFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const problem = frameworkProblem(error)
  if (problem.status >= 500) request.log.error({ err: error }, 'request failed')
  reply.header('x-request-id', request.id).headers(ANSWER_HEADERS)
  sendProblem(request, reply, problem)
}

function clientProblem(code: string | undefined): AppError {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return new AppError(
        ErrorCode.HeadersTooLarge,
        `The request line and headers are over ${Math.floor(maxHeaderSize / 1024)} KiB; send large input in a body.`,
      )
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new AppError(ErrorCode.RequestTimeout, 'The request did not arrive completely in time.')
    default:
      return new AppError(ErrorCode.BadRequest, `The request is not valid HTTP${code ? ` (${code})` : ''}.`)
  }
}

/**
 * Requests node's HTTP parser refuses (a URL or headers over its size limit, malformed HTTP, a
 * request that arrives too slowly) never reach Fastify: the answer is written to the socket here,
 * as a problem like any other, and the connection closed.
 */
export function answerClientError(this: FastifyInstance, error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  const problem = clientProblem(error.code)
  const id = randomUUID()
  this.log.debug({ reqId: id, code: error.code }, 'client error')
  // As node itself does: nothing is written over an answer already under way on this connection.
  const current = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage
  if (socket.writable && !current?.headersSent) {
    const body = JSON.stringify({ type: `/problems/${problem.code}`, title: problem.title, status: problem.status, detail: problem.detail, request_id: id })
    const headers = {
      'content-type': PROBLEM_CONTENT_TYPE,
      'content-length': String(Buffer.byteLength(body)),
      'x-request-id': id,
      ...ANSWER_HEADERS,
      connection: 'close',
    }
    const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('')
    socket.write(`HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status]}\r\n${head}\r\n${body}`)
  }
  socket.destroy(error)
}
