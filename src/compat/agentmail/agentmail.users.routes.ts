import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { keyPrincipal } from '../../platform/auth/auth.plugin.js'
import { AppError, ERR, ErrorCode } from '../../platform/errors.js'
import { BEARER_SECURITY } from '../../platform/openapi.plugin.js'
import type { ObjectsService } from '../../modules/objects/objects.service.js'
import { agentMailSurface, type OpenGpt } from './agentmail.shapes.js'

/** The demo's users are documents of the GPT's `users` collection (`agentstore seed` makes its three samples). */
export const USERS_COLLECTION = 'users'

export function agentMailUserRoutes({ objects, openGpt }: { objects: ObjectsService; openGpt: OpenGpt | null }) {
  return async (instance: FastifyInstance) => {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>()
    agentMailSurface(instance, openGpt)
    app.get(
      '/users/:user_id',
      {
        schema: {
          tags: ['agent messaging (compat)'],
          security: BEARER_SECURITY,
          operationId: 'agentMailGetUser',
          summary: 'A user of the demo (a document of the GPT\'s users collection, by its numeric id)',
          params: Type.Object({ user_id: Type.Integer({ minimum: -2_147_483_648, maximum: 2_147_483_647 }) }),
        },
      },
      async (request) => {
        const id = request.params.user_id
        const page = await objects
          .listObjects(keyPrincipal(request).gptId, USERS_COLLECTION, { where: JSON.stringify({ id }), limit: 1 })
          .catch((error: unknown) => {
            // No users collection in this GPT: no users.
            if (error instanceof AppError && error.code === ErrorCode.NotFound) return null
            throw error
          })
        const found = page?.items[0]
        if (!found) throw ERR.notFoundDetail('User not found')
        const body = found.body as { name?: unknown; email?: unknown }
        return { id, name: String(body.name ?? ''), email: String(body.email ?? ''), created_at: found.created_at.toISOString() }
      },
    )
  }
}
