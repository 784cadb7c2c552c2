import { endUserOf } from '../../platform/auth/principal.js'
import { memoryCaller } from '../memories/memories.inputs.js'
import { Type } from 'typebox'
import { listMemoriesQuery, Memory, MemoryList, MemoryParams, memoryInputSchema } from '../memories/memories.schemas.js'
import type { MemoriesService } from '../memories/memories.service.js'
import { SearchBody, SearchResponse } from '../search/search.schemas.js'
import type { SearchService } from '../search/search.service.js'
import { defineOperation, type Operation } from './catalogue.types.js'

interface Deps {
  memories: MemoriesService
  search: SearchService
  maxPageSize: number
  maxMemoryChars: number
}

const SEARCH_LIST = { items: 'results', text: ['content'] }

/** Long-term memory (remember, recall, forget, list) and the hybrid search over every source. */
export function memoryOperations({ memories, search, maxPageSize, maxMemoryChars }: Deps): Operation[] {
  const { where: _where, ...listQuery } = listMemoriesQuery({ maxPageSize }).properties
  const { filters, ...searchInput } = SearchBody.properties
  return [
    defineOperation({
      name: 'remember',
      title: 'Remember',
      description:
        'Store a memory (a fact, preference or note) for later recall. With entity_type and entity_id it replaces the memory of that entity.',
      group: 'memories',
      endUsers: true,
      input: memoryInputSchema({ maxMemoryChars }),
      output: Type.Object({
        memory: Memory,
        outcome: Type.Union([Type.Literal('created'), Type.Literal('replaced'), Type.Literal('accepted')], {
          description: '`accepted`: stored, and made searchable by meaning in the background.',
        }),
      }),
      scope: 'write',
      readOnly: false,
      destructive: false,
      consequential: false,
      run: async (principal, input) => memories.writeMemory(principal.gptId, input, memoryCaller(principal)),
    }),
    defineOperation({
      name: 'recall',
      title: 'Recall memories',
      description: 'Find the memories that best match a question or topic (by meaning and keywords), optionally of one user or entity type.',
      group: 'memories',
      endUsers: true,
      input: Type.Object(
        {
          query: searchInput.query,
          top_k: searchInput.top_k,
          user_id: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Only memories of this end user.' })),
          entity_type: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Only memories of this entity type.' })),
        },
        { additionalProperties: false },
      ),
      output: SearchResponse,
      scope: 'read',
      readOnly: true,
      destructive: false,
      consequential: false,
      list: SEARCH_LIST,
      run: async (principal, { query, top_k, user_id, entity_type }) =>
        search.search(principal.gptId, {
          query,
          ...(top_k !== undefined ? { top_k } : {}),
          sources: ['memories'],
          filters: { ...(user_id !== undefined ? { user_id } : {}), ...(entity_type !== undefined ? { entity_type } : {}) },
        }, endUserOf(principal)),
    }),
    defineOperation({
      name: 'forget',
      title: 'Forget a memory',
      description: 'Delete a memory (and its vector); its history keeps that it was deleted, by whom and when, not what it said.',
      group: 'memories',
      endUsers: true,
      input: MemoryParams,
      output: Type.Object({ deleted: Type.Boolean(), id: Type.String() }),
      scope: 'write',
      readOnly: false,
      destructive: true,
      consequential: true,
      run: async (principal, input) => {
        await memories.deleteMemory(principal.gptId, input.id, memoryCaller(principal))
        return { deleted: true, id: input.id }
      },
    }),
    defineOperation({
      name: 'list_memories',
      title: 'List memories',
      description: 'List memories, oldest first, filtered by entity, user or metadata; follow next_cursor while has_more is true.',
      group: 'memories',
      endUsers: true,
      input: Type.Object(
        {
          ...listQuery,
          where: Type.Optional(Type.Object({}, { additionalProperties: true, description: 'Metadata the memory must contain.' })),
        },
        { additionalProperties: false },
      ),
      output: MemoryList,
      scope: 'read',
      readOnly: true,
      destructive: false,
      consequential: false,
      list: { items: 'memories', text: ['content'] },
      run: async (principal, { where, ...query }) => {
        const found = await memories.listMemories(principal.gptId, { ...query, ...(where ? { where: JSON.stringify(where) } : {}) }, endUserOf(principal))
        return { memories: found.items, next_cursor: found.nextCursor, has_more: found.hasMore }
      },
    }),
    defineOperation({
      name: 'search',
      title: 'Search everything',
      description: 'Search memories, documents and chat messages by meaning, by keyword, or both (hybrid, the default); best results first.',
      group: 'search',
      endUsers: true,
      input: Type.Object({ ...searchInput, filters }, { additionalProperties: false }),
      output: SearchResponse,
      scope: 'read',
      readOnly: true,
      destructive: false,
      consequential: false,
      list: SEARCH_LIST,
      run: async (principal, input) => search.search(principal.gptId, input, endUserOf(principal)),
    }),
  ]
}
