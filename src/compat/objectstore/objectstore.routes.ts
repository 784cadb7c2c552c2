import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { SERVICE_NAME } from '../health.js'

/**
 * The GPT object store's own API. Its collection, object and health paths are the house's own
 * (/v1/gpts/{gpt_id}/collections…, /v1/objects/{id}, /health, /ready, /live), served by the house
 * routes; only its root document is its alone.
 */
export function objectStoreRoutes(deps: { version: string }) {
  return async (app: FastifyInstance) => {
    app.get(
      '/',
      {
        config: { access: 'public' },
        schema: {
          tags: ['health'],
          operationId: 'getRoot',
          summary: 'Service name, version and where the docs and health are (the object store\'s root)',
          response: {
            200: Type.Object({ service: Type.String(), version: Type.String(), docs: Type.String(), health: Type.String() }),
          },
        },
      },
      async () => ({ service: SERVICE_NAME, version: deps.version, docs: '/docs', health: '/health' }),
    )
  }
}
