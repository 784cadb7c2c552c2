import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Set from the route's response schema (see SECRET): its answer is `Cache-Control: no-store`. */
    showsSecret?: boolean
  }
}

/** Headers on every answer, errors included, whichever layer writes it. */
export const ANSWER_HEADERS: Readonly<Record<string, string>> = {
  // A browser must not take a JSON body for HTML or script.
  'x-content-type-options': 'nosniff',
}

/**
 * The schema option that marks a response member holding a secret (a key, a token):
 * `Type.String({ [SECRET]: true })`. No cache may keep an answer that carries one.
 */
export const SECRET = 'x-secret'

function holdsSecret(schema: unknown): boolean {
  if (typeof schema !== 'object' || schema === null) return false
  if ((schema as Record<string, unknown>)[SECRET] === true) return true
  return Object.values(schema).some(holdsSecret)
}

/** A JSON media type with the charset parameter Fastify adds to every JSON answer. */
const JSON_WITH_CHARSET = /^(application\/(?:[\w.-]+\+)?json)\s*;\s*charset=utf-8$/i

/**
 * The request id, ANSWER_HEADERS and, where a secret is shown, `Cache-Control: no-store`; JSON
 * answers typed exactly `application/json` (JSON media types define no charset; some clients compare
 * the header as a whole).
 */
export const headersPlugin = fp(
  async (app: FastifyInstance) => {
    app.addHook('onRoute', (route) => {
      if (holdsSecret(route.schema?.response)) route.config = { ...route.config, showsSecret: true }
    })
    // Callback-style hooks on the hot path: each async hook costs a promise per request.
    app.addHook('onRequest', (request, reply, done) => {
      reply.header('x-request-id', request.id).headers(ANSWER_HEADERS)
      if (request.routeOptions.config.showsSecret) reply.header('cache-control', 'no-store')
      done()
    })
    app.addHook('onSend', (_request, reply, payload, done) => {
      const type = reply.getHeader('content-type')
      const json = typeof type === 'string' ? JSON_WITH_CHARSET.exec(type) : null
      if (json) reply.header('content-type', json[1])
      done(null, payload)
    })
  },
  { name: 'headers' },
)
