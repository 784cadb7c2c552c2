import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { AppError, ErrorCode } from '../errors.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Every member of the route's body has a default: a request without a body is taken as `{}`. */
    optionalBody?: boolean
  }
}

/**
 * Many HTTP clients send `Content-Type: application/json` on every request, with or without a body.
 * An empty body is read as no body at all, whatever the header says: routes that take none answer
 * normally, a route with `optionalBody` (a body of options) gets `{}`, and any other route with a
 * body answers 400 saying so, the same as when the request carries no body and no header. Only
 * routes that say so: an empty PUT must never replace a document with `{}`.
 */
export const jsonBodyPlugin = fp(
  async (app: FastifyInstance) => {
    const parseJson = app.getDefaultJsonParser('error', 'error')
    app.removeContentTypeParser('application/json')
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
      const text = body.toString()
      if (text.length === 0) return done(null, undefined)
      parseJson(request, text, done)
    })

    app.addHook('preValidation', (request, _reply, done) => {
      if (request.body !== undefined || request.routeOptions.schema?.body === undefined) return done()
      if (request.routeOptions.config.optionalBody) {
        request.body = {}
        return done()
      }
      done(new AppError(ErrorCode.MalformedJson, 'This request needs a JSON body; it has none.'))
    })
  },
  { name: 'json-body' },
)
