import { endUserOf } from '../../platform/auth/principal.js'
import { Type } from 'typebox'
import type { JsonObject } from '../../platform/db/tables.js'
import { pageQuerySchema } from '../../platform/http/pagination.js'
import type { CollectionsService } from '../collections/collections.service.js'
import { CollectionList, CollectionName } from '../collections/collections.schemas.js'
import { listObjectsQuery, ObjectBody, ObjectId, ObjectList } from '../objects/objects.schemas.js'
import type { ObjectsService } from '../objects/objects.service.js'
import { toObjectView } from '../objects/objects.view.js'
import { defineOperation, type Operation } from './catalogue.types.js'

interface Deps {
  collections: CollectionsService
  objects: ObjectsService
  maxPageSize: number
}

const Fields = (description: string) => Type.Object({}, { additionalProperties: true, description })
const Deleted = Type.Object({ deleted: Type.Boolean(), id: Type.String() })
const DOCUMENT_LIST = { items: 'objects', text: [] }

/** The document operations: one set taking the collection as an argument, whatever the number of collections. */
export function documentOperations({ collections, objects, maxPageSize }: Deps): Operation[] {
  const page = pageQuerySchema({ maxPageSize })
  const { where: _where, q, created_after, created_before, sort, ...pageQuery } = listObjectsQuery(maxPageSize)
  const Collection = Type.String({ ...CollectionName, description: 'The collection (see list_collections for names and schemas).' })
  const listed = (page: Awaited<ReturnType<ObjectsService['listObjects']>>) => ({
    objects: page.items.map(toObjectView),
    next_cursor: page.nextCursor,
    has_more: page.hasMore,
  })
  return [
    defineOperation({
      name: 'list_collections',
      title: 'List collections',
      description: "List the GPT's document collections with their JSON Schemas (the fields each document has).",
      group: 'collections',
      endUsers: true,
      input: Type.Object({ limit: page.limit, cursor: page.cursor }, { additionalProperties: false }),
      output: CollectionList,
      scope: 'read',
      readOnly: true,
      destructive: false,
      consequential: false,
      list: { items: 'collections', text: [] },
      run: async (principal, input) => {
        const found = await collections.listCollections(principal.gptId, input)
        return { collections: found.items, next_cursor: found.nextCursor, has_more: found.hasMore }
      },
    }),
    defineOperation({
      name: 'create_document',
      title: 'Create a document',
      description: "Save a new JSON document in a collection; it must satisfy the collection's schema.",
      group: 'collections',
      endUsers: true,
      input: Type.Object({ collection: Collection, document: Fields('The document: a JSON object.') }, { additionalProperties: false }),
      output: ObjectBody,
      scope: 'write',
      readOnly: false,
      destructive: false,
      consequential: false,
      run: async (principal, input) => (await objects.createObject(principal.gptId, input.collection, input.document as JsonObject, null, endUserOf(principal))).object,
    }),
    defineOperation({
      name: 'get_document',
      title: 'Read a document',
      description: 'Read one document of a collection by its id.',
      group: 'collections',
      endUsers: true,
      input: Type.Object({ collection: Collection, id: ObjectId }, { additionalProperties: false }),
      output: ObjectBody,
      scope: 'read',
      readOnly: true,
      destructive: false,
      consequential: false,
      run: async (principal, input) => (await objects.getObject(principal.gptId, input.id, input.collection, endUserOf(principal))).object,
    }),
    defineOperation({
      name: 'update_document',
      title: 'Update a document',
      description: 'Change some top-level fields of a document; the other fields stay.',
      group: 'collections',
      endUsers: true,
      input: Type.Object({ collection: Collection, id: ObjectId, fields: Fields('The fields to set.') }, { additionalProperties: false }),
      output: ObjectBody,
      scope: 'write',
      readOnly: false,
      destructive: false,
      consequential: false,
      run: async (principal, input) =>
        (await objects.updateObject(principal.gptId, input.id, { mode: 'merge', payload: input.fields as JsonObject, collection: input.collection }, endUserOf(principal))).object,
    }),
    defineOperation({
      name: 'delete_document',
      title: 'Delete a document',
      description: 'Delete a document of a collection for good.',
      group: 'collections',
      endUsers: true,
      input: Type.Object({ collection: Collection, id: ObjectId }, { additionalProperties: false }),
      output: Deleted,
      scope: 'write',
      readOnly: false,
      destructive: true,
      consequential: true,
      run: async (principal, input) => {
        await objects.deleteObject(principal.gptId, input.id, { collection: input.collection }, endUserOf(principal))
        return { deleted: true, id: input.id }
      },
    }),
    defineOperation({
      name: 'list_documents',
      title: 'List documents',
      description: 'List the documents of a collection, newest first; follow next_cursor while has_more is true.',
      group: 'collections',
      endUsers: true,
      input: Type.Object({ collection: Collection, sort, ...pageQuery }, { additionalProperties: false }),
      output: ObjectList,
      scope: 'read',
      readOnly: true,
      destructive: false,
      consequential: false,
      list: DOCUMENT_LIST,
      run: async (principal, { collection, ...query }) => listed(await objects.listObjects(principal.gptId, collection, query, endUserOf(principal))),
    }),
    defineOperation({
      name: 'query_documents',
      title: 'Query documents',
      description:
        'Find documents of a collection: where (fields the document must contain), q (words, best match first) and a creation time range.',
      group: 'collections',
      endUsers: true,
      input: Type.Object(
        {
          collection: Collection,
          where: Type.Optional(Fields('Fields and values the document must contain, e.g. {"mood":"great"}.')),
          q,
          created_after,
          created_before,
          ...pageQuery,
        },
        { additionalProperties: false },
      ),
      output: ObjectList,
      scope: 'read',
      readOnly: true,
      destructive: false,
      consequential: false,
      list: DOCUMENT_LIST,
      run: async (principal, { collection, where, ...query }) =>
        listed(await objects.listObjects(principal.gptId, collection, { ...query, ...(where ? { where: JSON.stringify(where) } : {}) }, endUserOf(principal))),
    }),
  ]
}
