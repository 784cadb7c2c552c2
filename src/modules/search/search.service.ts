import type { JsonObject } from '../../platform/db/tables.js'
import { ownUser } from '../../platform/auth/principal.js'
import { ERR } from '../../platform/errors.js'
import type { Embedder } from './embedder.js'
import { fuseHybrid, keywordQuery, queryTerms, termsHeld } from './search.ranking.js'
import type { SearchFilters, SearchHit, SearchRepository } from './search.repo.js'
import { SEARCH_SOURCES, type SearchInput, type SearchView } from './search.schemas.js'
import type { SearchSource } from './vector-store.js'

type Mode = SearchView['mode']

/** Candidates each ranked list contributes before fusion: deeper lists let items found by both rise. */
function depthFor(topK: number): number {
  return Math.max(topK * 3, 30)
}

export class SearchService {
  constructor(
    private readonly repo: SearchRepository,
    private readonly embedder: Embedder,
    private readonly log: { warn(object: object, message: string): void },
    private readonly ranking: { halfLifeDays: number },
  ) {}

  /** `user`: the end user the caller is confined to (null: the whole GPT): only what they may read is searched. */
  async search(gptId: string, input: SearchInput, user: string | null = null): Promise<SearchView> {
    const topK = input.top_k ?? 10
    const requested: Mode = input.mode ?? 'hybrid'
    const sources: SearchSource[] = input.sources ?? [...SEARCH_SOURCES]
    const userId = ownUser(user, input.filters?.user_id, '/filters/user_id', 'body')
    const filters = {
      ...toFilters({ ...input.filters, ...(userId === undefined ? {} : { user_id: userId }) }),
      ...(user === null ? {} : { endUser: user }),
      ...(input.as_of ? { asOf: new Date(input.as_of) } : {}),
    }
    const warnings: string[] = []

    let vector: number[] | null = null
    if (requested !== 'keyword') {
      try {
        vector = (await this.embedder.embed([input.query], 'queries'))[0] ?? null
      } catch (error) {
        this.log.warn({ err: error }, 'could not embed a search query')
        const reason = error instanceof Error ? error.message : String(error)
        if (requested === 'semantic') throw ERR.unavailable(`Semantic search is unavailable: the embeddings provider failed (${reason}).`)
        warnings.push(`Semantic search is unavailable (${reason}); these are keyword results only.`)
      }
    }
    const mode: Mode = requested === 'hybrid' && vector === null ? 'keyword' : requested
    const depth = mode === 'hybrid' ? depthFor(topK) : topK

    const semantic = vector ? await this.semantic(gptId, sources, vector, filters, depth) : []
    const keyword = mode !== 'semantic' ? await this.keyword(gptId, sources, input.query, filters, depth) : []
    const terms = queryTerms(input.query)
    const matched =
      mode === 'hybrid'
        ? fuseHybrid(semantic, keyword, terms, keyOf).map(({ item, score }) => ({ ...item, score }))
        : mode === 'semantic'
          ? semantic
          : keyword
    const ranked = weighMemories(matched, input.rank ?? 'relevance', this.ranking.halfLifeDays, Date.now())
    const semanticPlace = places(semantic)
    const keywordPlace = places(keyword)
    return {
      results: ranked.slice(0, topK).map((hit) => ({
        source: hit.source,
        id: hit.id,
        score: hit.score,
        content: hit.content,
        metadata: hit.metadata,
        details: hit.details,
        created_at: hit.created_at.toISOString(),
        match: {
          semantic: whereIn(semanticPlace, hit, (found) => ({ similarity: found.score })),
          keyword: whereIn(keywordPlace, hit, (found) => ({ score: found.score, terms: termsHeld(terms, found.content) })),
        },
      })),
      mode,
      sources,
      vector_backend: this.embedder.store.mode,
      embedding_model: this.embedder.model,
      ...(warnings.length > 0 ? { warnings } : {}),
    }
  }

  /** Nearest items of every source, merged by similarity (cosine scores compare across sources). */
  private async semantic(gptId: string, sources: SearchSource[], vector: number[], filters: SearchFilters, limit: number): Promise<SearchHit[]> {
    const lists = []
    for (const source of sources) lists.push(await this.repo.semantic(gptId, source, this.embedder.store, vector, filters, limit))
    return lists.flat().sort((a, b) => b.score - a.score).slice(0, limit)
  }

  private async keyword(gptId: string, sources: SearchSource[], query: string, filters: SearchFilters, limit: number): Promise<SearchHit[]> {
    const tsquery = keywordQuery(query)
    if (tsquery === null) return []
    const lists = []
    for (const source of sources) lists.push(await this.repo.keyword(gptId, source, tsquery, filters, limit))
    return lists.flat().sort((a, b) => b.score - a.score).slice(0, limit)
  }
}

const keyOf = (hit: SearchHit) => `${hit.source}:${hit.id}`

/** Each hit of a ranked list by key, with its 1-based place. */
function places(list: SearchHit[]): Map<string, { rank: number; hit: SearchHit }> {
  return new Map(list.map((hit, index) => [keyOf(hit), { rank: index + 1, hit }]))
}

function whereIn<T>(list: Map<string, { rank: number; hit: SearchHit }>, hit: SearchHit, describe: (found: SearchHit) => T): ({ rank: number } & T) | null {
  const found = list.get(keyOf(hit))
  return found ? { rank: found.rank, ...describe(found.hit) } : null
}

const DAY_MS = 86_400_000

/**
 * A memory's score times (0.5 + importance), so that the default importance (0.5) leaves it as is;
 * with `recency`, also times 2^(-age / half-life), its age counted from its last change. Other sources
 * keep their score. Sorted again, best first.
 */
export function weighMemories(hits: SearchHit[], rank: 'relevance' | 'recency', halfLifeDays: number, now: number): SearchHit[] {
  return hits
    .map((hit) => {
      if (hit.source !== 'memories') return hit
      const importance = typeof hit.details.importance === 'number' ? hit.details.importance : 0.5
      const changed = typeof hit.details.updated_at === 'string' ? Date.parse(hit.details.updated_at) : hit.created_at.getTime()
      const decay = rank === 'recency' ? 2 ** (-Math.max(0, now - changed) / (halfLifeDays * DAY_MS)) : 1
      return { ...hit, score: hit.score * (0.5 + importance) * decay }
    })
    .sort((a, b) => b.score - a.score)
}

function toFilters(filters: SearchInput['filters']): SearchFilters {
  if (!filters) return {}
  const after = filters.created_after ? new Date(filters.created_after) : undefined
  const before = filters.created_before ? new Date(filters.created_before) : undefined
  if (after && before && after >= before) {
    throw ERR.validation('created_after must be before created_before.', [
      { pointer: '/filters/created_after', location: 'body', message: 'must be before created_before' },
    ])
  }
  return {
    ...(filters.entity_type !== undefined ? { entityType: filters.entity_type } : {}),
    ...(filters.user_id !== undefined ? { userId: filters.user_id } : {}),
    ...(filters.where !== undefined ? { where: filters.where as JsonObject } : {}),
    ...(after ? { createdAfter: after } : {}),
    ...(before ? { createdBefore: before } : {}),
  }
}
