import { Readable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { JsonObject } from '../../platform/db/tables.js'
import { ERR } from '../../platform/errors.js'
import { pageQuerySchema, setNextLink } from '../../platform/http/pagination.js'
import { problemResponses } from '../../platform/http/problem.schemas.js'
import { BEARER_SECURITY } from '../../platform/openapi.plugin.js'
import { GptParams } from '../gpts/gpts.schemas.js'
import type { ObjectsService } from '../objects/objects.service.js'
import {
  Collection,
  CollectionList,
  CollectionParams,
  CreateCollectionBody,
  PatchCollectionBody,
  PatchedCollection,
} from './collections.schemas.js'
import type { CollectionsService } from './collections.service.js'

interface Deps {
  collections: CollectionsService
  objects: ObjectsService
  publicUrl: string
  maxPageSize: number
  importBodyLimit: number
}

const NDJSON = 'application/x-ndjson'

export function collectionRoutes({ collections, objects, publicUrl, maxPageSize, importBodyLimit }: Deps) {
  return async (instance: FastifyInstance) => {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>()
    const common = { tags: ['collections'], security: BEARER_SECURITY }
    // Only the import route reads NDJSON; the parser lives in this plugin's scope.
    app.addContentTypeParser([NDJSON, 'application/jsonl'], { parseAs: 'string', bodyLimit: importBodyLimit }, (_request, body, done) =>
      done(null, body),
    )

    app.post(
      '/v1/gpts/:gpt_id/collections',
      {
        // Setting a schema is an admin operation; creating a plain collection is a write.
        config: { scope: 'write' },
        preHandler: async (request) => {
          const principal = request.principal
          const body = request.body as { schema?: unknown; per_user?: unknown; ttl_seconds?: unknown }
          const gptCaller = principal?.kind === 'key' || principal?.kind === 'token'
          const settings = body.schema !== undefined || body.per_user !== undefined || body.ttl_seconds !== undefined
          if (settings && gptCaller && !principal.scopes.includes('admin')) {
            throw ERR.forbidden('Setting a collection schema, per_user or ttl_seconds needs the "admin" scope.')
          }
        },
        schema: {
          ...common,
          operationId: 'upsertCollection',
          summary: 'Create a collection, or update its schema (201 created, 200 existed)',
          params: GptParams,
          body: CreateCollectionBody,
          response: { 200: Collection, 201: Collection, ...problemResponses(401, 403, 422) },
        },
      },
      async (request, reply) => {
        const { name, schema, per_user, ttl_seconds } = request.body
        const result = await collections.upsertCollection(request.params.gpt_id, name, { schema: schema as JsonObject | null | undefined, per_user, ttl_seconds })
        if (result.created) reply.code(201).header('location', `/v1/gpts/${request.params.gpt_id}/collections/${name}`)
        return result.collection
      },
    )

    app.get(
      '/v1/gpts/:gpt_id/collections',
      {
        config: { endUsers: true },
        schema: {
          ...common,
          operationId: 'listCollections',
          summary: 'List collections',
          params: GptParams,
          querystring: Type.Object(pageQuerySchema({ maxPageSize }), { additionalProperties: false }),
          response: { 200: CollectionList, ...problemResponses(400, 401, 403, 422) },
        },
      },
      async (request, reply) => {
        const page = await collections.listCollections(request.params.gpt_id, request.query)
        setNextLink(request, reply, publicUrl, page.nextCursor)
        return { collections: page.items, next_cursor: page.nextCursor, has_more: page.hasMore }
      },
    )

    app.get(
      '/v1/gpts/:gpt_id/collections/:name',
      {
        config: { endUsers: true },
        schema: {
          ...common,
          operationId: 'getCollection',
          summary: 'Read a collection and its schema',
          params: CollectionParams,
          response: { 200: Collection, ...problemResponses(401, 403, 404, 422) },
        },
      },
      async (request) => collections.getCollection(request.params.gpt_id, request.params.name),
    )

    app.patch(
      '/v1/gpts/:gpt_id/collections/:name',
      {
        config: { scope: 'admin' },
        schema: {
          ...common,
          operationId: 'updateCollectionSchema',
          summary: 'Change the schema, per_user or ttl_seconds; reports how many stored documents fail the schema',
          params: CollectionParams,
          body: PatchCollectionBody,
          response: { 200: PatchedCollection, ...problemResponses(401, 403, 404, 422) },
        },
      },
      async (request) =>
        objects.changeCollection(request.params.gpt_id, request.params.name, {
          schema: request.body.schema as JsonObject | null | undefined,
          per_user: request.body.per_user,
          ttl_seconds: request.body.ttl_seconds,
        }),
    )

    app.delete(
      '/v1/gpts/:gpt_id/collections/:name',
      {
        schema: {
          ...common,
          operationId: 'deleteCollection',
          summary: 'Delete a collection and all its documents',
          params: CollectionParams,
          response: { 204: Type.Null(), ...problemResponses(401, 403, 404, 422) },
        },
      },
      async (request, reply) => {
        await collections.deleteCollection(request.params.gpt_id, request.params.name)
        return reply.code(204).send(null)
      },
    )

    app.get(
      '/v1/gpts/:gpt_id/collections/:name/export',
      {
        schema: {
          ...common,
          operationId: 'exportCollection',
          summary: 'All documents as NDJSON (streamed)',
          params: CollectionParams,
          produces: [NDJSON],
          response: {
            200: Type.String({ description: 'One object per line, as GET /v1/objects/{id} returns it.' }),
            ...problemResponses(401, 403, 404, 422),
          },
        },
      },
      async (request, reply) => {
        const { gpt_id, name } = request.params
        await objects.requireExportable(gpt_id, name)
        reply.type(NDJSON).header('content-disposition', `attachment; filename="${name}.ndjson"`)
        return reply.send(Readable.from(objects.exportObjects(gpt_id, name)) as unknown as string)
      },
    )

    app.post(
      '/v1/gpts/:gpt_id/collections/:name/import',
      {
        bodyLimit: importBodyLimit,
        schema: {
          ...common,
          operationId: 'importCollection',
          summary: 'Import NDJSON documents, all or nothing',
          description: 'Content-Type application/x-ndjson; every line is validated first; failures are listed by line with nothing stored.',
          params: CollectionParams,
          consumes: [NDJSON],
          response: { 201: Type.Object({ imported: Type.Integer() }), ...problemResponses(400, 401, 403, 404, 413, 415, 422) },
        },
      },
      async (request, reply) => {
        if (typeof request.body !== 'string') {
          throw ERR.unsupportedMediaType('Send the documents as application/x-ndjson, one JSON object per line.')
        }
        const result = await objects.importObjects(request.params.gpt_id, request.params.name, request.body)
        return reply.code(201).send(result)
      },
    )
  }
}
