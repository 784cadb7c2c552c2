import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { ERR } from '../errors.js'
import { exceedsDepth, findUnstorableText } from '../json-depth.js'

/**
 * PostgreSQL text and jsonb cannot hold U+0000 or unpaired surrogates, which JSON and URLs can
 * carry; and no JSON nests deep enough to exhaust a stack (the service's or PostgreSQL's). Checked
 * once for every request's body and query, so that no route turns them into a 500: the answer is a
 * 422. Routes check the JSON they store against MAX_JSON_DEPTH themselves, with precise pointers;
 * `maxDepth` is only the backstop far above it.
 */
export const storableTextPlugin = fp<{ maxDepth: number; maxJsonDepth: number }>(
  async (app: FastifyInstance, { maxDepth, maxJsonDepth }) => {
    app.addHook('preValidation', (request, _reply, done) => {
      if (request.body !== null && typeof request.body === 'object' && exceedsDepth(request.body, maxDepth)) {
        const problem = [{ pointer: '', location: 'body' as const, message: `nests objects and arrays deeper than ${maxDepth} levels` }]
        return done(ERR.validation(`The body nests deeper than ${maxDepth} levels; stored JSON may nest ${maxJsonDepth} (MAX_JSON_DEPTH).`, problem))
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
