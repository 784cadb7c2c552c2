import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { ERR } from '../errors.js'
import { exceedsDepth, findUnstorableText } from '../json-depth.js'

/**
 * PostgreSQL text and jsonb cannot hold U+0000 or unpaired surrogates, which JSON and URLs can
 * carry, nor nesting deep enough to exhaust its stack. Checked once for every request's body and
 * query, so that no route turns them into a database error (500): the answer is a 422. Routes that
 * store a document check its own depth precisely (MAX_JSON_DEPTH); this bound leaves room for the
 * envelope around it.
 */
export const storableTextPlugin = fp<{ maxDepth: number }>(
  async (app: FastifyInstance, { maxDepth }) => {
    app.addHook('preValidation', (request, _reply, done) => {
      if (request.body !== null && typeof request.body === 'object' && exceedsDepth(request.body, maxDepth)) {
        const problem = [{ pointer: '', location: 'body' as const, message: `nests objects and arrays deeper than ${maxDepth} levels` }]
        return done(ERR.validation(`The body nests deeper than ${maxDepth} levels.`, problem))
      }
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
