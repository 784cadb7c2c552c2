import { readdirSync, readFileSync } from 'node:fs'

/**
 * The labelled retrieval sets: the small one the tests use (test/fixtures/retrieval/) and the larger
 * one of this bench (bench/fixtures/retrieval-large/, split over several files). Both follow the label
 * rules of their README.md. Loading checks them: ids unique, every relevant id a memory, dates valid.
 */

export const KINDS = ['lexical', 'paraphrase', 'mixed', 'temporal'] as const
export type Kind = (typeof KINDS)[number]

export interface SetMemory {
  id: string
  content: string
  entity_type: string
  user_id: string
  /** What the memory says was true from / until then (ISO dates): a fact that changed over time. */
  valid_from?: string
  valid_to?: string
}

export interface SetQuery {
  id: string
  query: string
  relevant: string[]
  kind: Kind
  /** Temporal queries: what was true at that time. */
  as_of?: string
  /** Searched within this end user's memories only (temporal queries: "where did she live" needs a she). */
  user_id?: string
}

export interface RetrievalSet {
  name: 'small' | 'large'
  memories: SetMemory[]
  queries: SetQuery[]
}

const DIRS = {
  small: new URL('../test/fixtures/retrieval/', import.meta.url),
  large: new URL('./fixtures/retrieval-large/', import.meta.url),
}

/** Every `<prefix>*.json` of the directory, concatenated in file-name order. */
function readAll<T>(dir: URL, prefix: string): T[] {
  const files = readdirSync(dir)
    .filter((file) => file.startsWith(prefix) && file.endsWith('.json'))
    .sort()
  return files.flatMap((file) => JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as T[])
}

export function loadSet(name: 'small' | 'large'): RetrievalSet {
  const set: RetrievalSet = { name, memories: readAll<SetMemory>(DIRS[name], 'memories'), queries: readAll<SetQuery>(DIRS[name], 'queries') }
  const problems = checkSet(set)
  if (problems.length > 0) throw new Error(`the ${name} retrieval set is not consistent:\n${problems.join('\n')}`)
  return set
}

const isDate = (value: string | undefined) => value === undefined || (/^\d{4}-\d{2}-\d{2}/.test(value) && !Number.isNaN(Date.parse(value)))

/** What is wrong with the set (empty when nothing). */
export function checkSet(set: RetrievalSet): string[] {
  const problems: string[] = []
  const memories = new Map<string, SetMemory>()
  for (const memory of set.memories) {
    if (memories.has(memory.id)) problems.push(`memory ${memory.id} twice`)
    memories.set(memory.id, memory)
    if (!memory.content?.trim() || !memory.user_id || !memory.entity_type) problems.push(`memory ${memory.id} lacks content, user_id or entity_type`)
    if (!isDate(memory.valid_from) || !isDate(memory.valid_to)) problems.push(`memory ${memory.id}: valid_from/valid_to not ISO dates`)
    if (memory.valid_from && memory.valid_to && memory.valid_to <= memory.valid_from) problems.push(`memory ${memory.id}: valid_to before valid_from`)
  }
  const queryIds = new Set<string>()
  for (const query of set.queries) {
    if (queryIds.has(query.id)) problems.push(`query ${query.id} twice`)
    queryIds.add(query.id)
    if (!KINDS.includes(query.kind)) problems.push(`query ${query.id}: unknown kind ${query.kind}`)
    if (query.relevant.length === 0) problems.push(`query ${query.id} has no relevant memory`)
    if (new Set(query.relevant).size !== query.relevant.length) problems.push(`query ${query.id} lists a memory twice`)
    for (const id of query.relevant) if (!memories.has(id)) problems.push(`query ${query.id}: relevant ${id} is no memory`)
    if ((query.kind === 'temporal') !== (query.as_of !== undefined)) problems.push(`query ${query.id}: as_of goes with kind temporal, and only with it`)
    if (!isDate(query.as_of)) problems.push(`query ${query.id}: as_of not an ISO date`)
    for (const id of query.user_id ? query.relevant : []) {
      if (memories.get(id) && memories.get(id)!.user_id !== query.user_id) problems.push(`query ${query.id}: ${id} is not ${query.user_id}'s`)
    }
    // A temporal query's answer must be what was true at as_of.
    for (const id of query.as_of ? query.relevant : []) {
      const memory = memories.get(id)
      if (memory && ((memory.valid_from && memory.valid_from > query.as_of!) || (memory.valid_to && memory.valid_to <= query.as_of!))) {
        problems.push(`query ${query.id}: ${id} was not valid at ${query.as_of}`)
      }
    }
  }
  return problems
}

/** Counts the README states: memories, users, queries by kind, temporal memories. */
export function describeSet(set: RetrievalSet): Record<string, number> {
  const byKind = Object.fromEntries(KINDS.map((kind) => [`${kind} queries`, set.queries.filter((q) => q.kind === kind).length]))
  return {
    memories: set.memories.length,
    users: new Set(set.memories.map((m) => m.user_id)).size,
    'memories with valid time': set.memories.filter((m) => m.valid_from || m.valid_to).length,
    queries: set.queries.length,
    ...byKind,
  }
}

/** Metrics of one ranked list of fixture ids against the relevant ones, at cut-off 5. */
export interface QueryScore {
  recall: number
  reciprocalRank: number
  hit: number
}

export const CUTOFF = 5

export function scoreRanking(ranked: (string | undefined)[], relevant: string[]): QueryScore {
  const top = ranked.slice(0, CUTOFF)
  const wanted = new Set(relevant)
  const first = top.findIndex((id) => id !== undefined && wanted.has(id))
  return {
    recall: relevant.filter((id) => top.includes(id)).length / relevant.length,
    reciprocalRank: first < 0 ? 0 : 1 / (first + 1),
    hit: first === 0 ? 1 : 0,
  }
}

export interface Summary {
  queries: number
  'recall@5': number
  'MRR@5': number
  'hit@1': number
}

export function summarise(scores: QueryScore[]): Summary {
  const mean = (pick: (score: QueryScore) => number) => (scores.length === 0 ? Number.NaN : Math.round((scores.reduce((sum, s) => sum + pick(s), 0) / scores.length) * 1000) / 1000)
  return { queries: scores.length, 'recall@5': mean((s) => s.recall), 'MRR@5': mean((s) => s.reciprocalRank), 'hit@1': mean((s) => s.hit) }
}
