import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { ERR } from '../errors.js'
import { findUnstorableText } from '../json-depth.js'

/**
 * PostgreSQL text and jsonb cannot hold U+0000 or unpaired surrogates, which JSON and URLs can
 * carry. Checked once for every request's body and query, so that no route turns them into a
 * database error (500): the answer is a 422 pointing at the value.
 */
export const storableTextPlugin = fp(
  async (app: FastifyInstance) => {
    app.addHook('preValidation', (request, _reply, done) => {
      for (const [location, value] of [
        ['body', request.body],
        ['query', request.query],
      ] as const) {
        if (value === null || (typeof value !== 'object' && typeof value !== 'string')) continue
        const found = findUnstorableText(value)
        if (found) {
          const problem = [{ pointer: found.pointer, location, message: found.message }]
          return done(ERR.validation('The request holds text that cannot be stored.', problem))
        }
      }
      done()
    })
  },
  { name: 'storable-text' },
)
