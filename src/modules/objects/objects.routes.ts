import type { FastifyInstance, FastifyReply } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type, type Static, type TSchema } from 'typebox'
import { keyPrincipal } from '../../platform/auth/auth.plugin.js'
import { endUserOf } from '../../platform/auth/principal.js'
import type { JsonObject } from '../../platform/db/tables.js'
import { setNextLink } from '../../platform/http/pagination.js'
import { problemResponses } from '../../platform/http/problem.schemas.js'
import { BEARER_SECURITY } from '../../platform/openapi.plugin.js'
import { CollectionParams } from '../collections/collections.schemas.js'
import {
  CollectionObjectParams,
  Document,
  IfMatchHeaders,
  listObjectsQuery,
  ObjectBody,
  ObjectList,
  ObjectParams,
  WriteHeaders,
} from './objects.schemas.js'
import type { ObjectsService, Versioned } from './objects.service.js'

interface Deps {
  objects: ObjectsService
  publicUrl: string
  maxPageSize: number
}

function sendVersioned(reply: FastifyReply, result: Versioned, status = 200) {
  return reply.code(status).header('etag', result.etag).send(result.object)
}

export function objectRoutes({ objects, publicUrl, maxPageSize }: Deps) {
  return async (instance: FastifyInstance) => {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>()
    const common = { tags: ['objects'], security: BEARER_SECURITY }

    app.post(
      '/v1/gpts/:gpt_id/collections/:name/objects',
      {
        config: { endUsers: true },
        schema: {
          ...common,
          operationId: 'createObject',
          summary: 'Store a document (the body itself, or {"body": {…}})',
          params: CollectionParams,
          headers: WriteHeaders,
          body: Document,
          response: { 201: ObjectBody, ...problemResponses(400, 401, 403, 404, 413, 422) },
        },
      },
      async (request, reply) => {
        const { gpt_id, name } = request.params
        const result = await objects.createObject(gpt_id, name, request.body as JsonObject, request.headers['idempotency-key'] ?? null, endUserOf(request.principal))
        if (result.replayed) reply.header('idempotent-replayed', 'true')
        return sendVersioned(reply.header('location', `/v1/objects/${result.object.id}`), result, 201)
      },
    )

    app.get(
      '/v1/gpts/:gpt_id/collections/:name/objects',
      {
        config: { endUsers: true },
        schema: {
          ...common,
          operationId: 'listObjects',
          summary: 'List documents (newest first), filter by `where`, search with `q`',
          params: CollectionParams,
          querystring: Type.Object(listObjectsQuery(maxPageSize), { additionalProperties: false }),
          response: { 200: ObjectList, ...problemResponses(400, 401, 403, 404, 422) },
        },
      },
      async (request, reply) => {
        const page = await objects.listObjectsText(request.params.gpt_id, request.params.name, request.query, endUserOf(request.principal))
        setNextLink(request, reply, publicUrl, page.nextCursor)
        // Already JSON (ObjectList's members, in its order): Fastify sends a string of a JSON type as it is.
        return reply
          .type('application/json')
          .send(`{"objects":[${page.items}],"next_cursor":${JSON.stringify(page.nextCursor)},"has_more":${page.hasMore}}` as unknown as Static<typeof ObjectList>)
      },
    )

    // Each item operation answers on the flat path and on the collection's own path (the form a
    // GPT Action spec uses, so that each collection's schema documents its own operations).
    const itemRoutes: { path: string; params: TSchema; suffix: string; scoped: boolean }[] = [
      { path: '/v1/objects/:id', params: ObjectParams, suffix: '', scoped: false },
      { path: '/v1/gpts/:gpt_id/collections/:name/objects/:id', params: CollectionObjectParams, suffix: 'InCollection', scoped: true },
    ]
    for (const { path, params, suffix, scoped } of itemRoutes) {
      const where = (request: { params: unknown }) => {
        const p = request.params as { id: string; name?: string }
        return { id: p.id, collection: scoped ? p.name : undefined }
      }
      app.get(
        path,
        {
          config: { endUsers: true },
          schema: {
            ...common,
            operationId: `getObject${suffix}`,
            summary: 'Read a document',
            params,
            response: { 200: ObjectBody, ...problemResponses(401, 403, 404, 422) },
          },
        },
        async (request, reply) => {
          const { id, collection } = where(request)
          return sendVersioned(reply, await objects.getObject(keyPrincipal(request).gptId, id, collection, endUserOf(request.principal)))
        },
      )
      for (const [method, mode] of [
        ['patch', 'merge'],
        ['put', 'replace'],
      ] as const) {
        app[method](
          path,
          {
            config: { endUsers: true },
            schema: {
              ...common,
              operationId: `${mode === 'merge' ? 'update' : 'replace'}Object${suffix}`,
              summary: mode === 'merge' ? 'Merge top-level fields into a document' : 'Replace a document',
              params,
              headers: IfMatchHeaders,
              body: Document,
              response: { 200: ObjectBody, ...problemResponses(400, 401, 403, 404, 409, 412, 422) },
            },
          },
          async (request, reply) => {
            const { id, collection } = where(request)
            const result = await objects.updateObject(keyPrincipal(request).gptId, id, {
              mode,
              payload: request.body as JsonObject,
              ifMatch: request.headers['if-match'],
              collection,
            }, endUserOf(request.principal))
            return sendVersioned(reply, result)
          },
        )
      }
      app.delete(
        path,
        {
          config: { endUsers: true },
          schema: {
            ...common,
            operationId: `deleteObject${suffix}`,
            summary: 'Delete a document',
            params,
            headers: IfMatchHeaders,
            response: { 204: Type.Null(), ...problemResponses(401, 403, 404, 412, 422) },
          },
        },
        async (request, reply) => {
          const { id, collection } = where(request)
          await objects.deleteObject(keyPrincipal(request).gptId, id, { ifMatch: request.headers['if-match'], collection }, endUserOf(request.principal))
          return reply.code(204).send(null)
        },
      )
    }
  }
}
