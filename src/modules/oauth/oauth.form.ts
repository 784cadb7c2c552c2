import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ERR } from '../../platform/errors.js'
import { OAuthError, oauthError } from './oauth.errors.js'

/** RFC 6749 §3.2 and §4.1.3: token requests are small; nothing legitimate comes near this. */
const FORM_LIMIT = 64 * 1024

/**
 * Takes `application/x-www-form-urlencoded` bodies in this scope (the protocol endpoints and the
 * consent form), as a plain record; a repeated parameter becomes an array, to be refused.
 */
export function acceptForms(app: FastifyInstance): void {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: FORM_LIMIT }, (_request, body, done) => {
    const form: Record<string, string | string[]> = {}
    for (const [name, value] of new URLSearchParams(body as string)) {
      const seen = form[name]
      form[name] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value]
    }
    done(null, form)
  })
}

/** The parameters of a protocol request: form-encoded, each at most once (RFC 6749 §3.1, §3.2). */
export function formParameters(request: FastifyRequest): Record<string, string> {
  const type = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase()
  if (type !== 'application/x-www-form-urlencoded') throw oauthError('invalid_request', 'Send the parameters as application/x-www-form-urlencoded.')
  const body = (request.body ?? {}) as Record<string, string | string[]>
  const form: Record<string, string> = {}
  for (const [name, value] of Object.entries(body)) {
    if (Array.isArray(value)) throw oauthError('invalid_request', `The parameter ${name} is repeated.`)
    // RFC 6749 §3.1: a parameter sent without a value is treated as omitted.
    if (value !== '') form[name] = value
  }
  return form
}

/** RFC 6749 §5.1: answers that carry tokens, or could, are never stored. */
export function noStore(reply: FastifyReply): FastifyReply {
  return reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
}

/**
 * Protocol errors in the protocol's own shape (RFC 6749 §5.2); anything else (a body too large, an
 * unknown content type, a rate limit) stays a problem document, as everywhere.
 */
export function answerOAuthErrors(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | OAuthError, request, reply) => {
    if (error instanceof OAuthError) {
      if (error.challenge) reply.header('www-authenticate', error.challenge)
      return noStore(reply).code(error.status).send({ error: error.error, error_description: error.description })
    }
    if ((error as FastifyError).code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return noStore(reply).code(400).send({ error: 'invalid_request', error_description: 'Send the parameters as application/x-www-form-urlencoded.' })
    }
    throw error instanceof Error ? error : ERR.badRequest(String(error))
  })
}
