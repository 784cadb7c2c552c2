import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { BEARER_SECURITY } from '../../platform/openapi.plugin.js'
import { agentMailSurface, type OpenGpt } from './agentmail.shapes.js'

/** Letters, digits, white space and . , ! ? - _ — the demo's whole alphabet for its echo. */
const ECHOABLE = '^[A-Za-z0-9 \\t\\n\\r\\f\\v.,!?_-]+$'

/**
 * The demo's POST /cli/echo. It ran `echo` through a shell; nothing here runs a process: the answer
 * is what echo prints for the (validated, trimmed) message, without its final newline.
 */
export function agentMailCliRoutes({ openGpt }: { openGpt: OpenGpt | null }) {
  return async (instance: FastifyInstance) => {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>()
    agentMailSurface(instance, openGpt)
    app.post(
      '/cli/echo',
      {
        schema: {
          tags: ['agent messaging (compat)'],
          security: BEARER_SECURITY,
          operationId: 'agentMailEcho',
          summary: 'Echo a message back (computed in process; no shell, no process)',
          body: Type.Object({ message: Type.String({ minLength: 1, maxLength: 1000, pattern: ECHOABLE }) }),
          response: {
            200: Type.Object({ success: Type.Boolean(), message: Type.String(), output: Type.Union([Type.String(), Type.Null()]), error: Type.Union([Type.String(), Type.Null()]) }),
          },
        },
      },
      async (request) => {
        const message = request.body.message.trim()
        return { success: true, message, output: message, error: null }
      },
    )
  }
}
