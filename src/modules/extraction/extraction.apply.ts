import type { MemoriesService, MemoryCaller } from '../memories/memories.service.js'
import type { SearchService } from '../search/search.service.js'
import type { ExtractedFact } from './extraction.offline.js'
import type { DecisionView, ExtractionAction } from './extraction.schemas.js'

/** What extraction needs of memories: the memory service writes (its rules: ownership, dedup, history), search finds. */
export interface MemoryPorts {
  memories: MemoriesService
  search: SearchService
  log: { warn(object: object, message: string): void }
}

/** A decision before it is written: `target` is the known memory it concerns (null for add). */
export interface PlannedDecision {
  action: ExtractionAction
  content: string
  target: string | null
  message_ids: string[]
  /** The offline extractor's key and value, kept in the memory's metadata to recognise the fact later. */
  key?: string
  value?: string
}

export interface RunRef {
  id: string
  gpt_id: string
  session_id: string
  user_id: string
}

/** The user's live memories closest to `query`, best first (the LLM is shown these, by id). */
export async function knownMemories(ports: MemoryPorts, gptId: string, userId: string, query: string, topK: number): Promise<{ id: string; content: string }[]> {
  if (query.trim() === '') return []
  const found = await ports.search.search(gptId, { query: query.slice(0, 2000), top_k: topK, mode: 'hybrid', sources: ['memories'], filters: { user_id: userId } })
  return found.results.map((result) => ({ id: result.id, content: result.content }))
}

const normal = (text: string) => text.toLowerCase().replace(/\s+/g, ' ').trim()

/**
 * The offline decisions: a fact whose key a live memory of the user already holds is `none` when the
 * value is the same, `update` when the new value extends the old one ("Paris" → "Paris, France"), and
 * `supersede` otherwise ("London" → "Paris", "likes olives" → "dislikes olives"); a fact with no keyed
 * memory is `none` when search finds a memory of the same text, and `add` otherwise.
 */
export async function planOffline(ports: MemoryPorts, gptId: string, userId: string, facts: ExtractedFact[]): Promise<PlannedDecision[]> {
  const planned: PlannedDecision[] = []
  const now = new Date().toISOString()
  for (const fact of facts) {
    const base = { content: fact.content, message_ids: [fact.message_id], key: fact.key, value: fact.value }
    const keyed = await ports.memories.listMemories(gptId, { user_id: userId, where: JSON.stringify({ extraction: { key: fact.key } }), as_of: now, limit: 1, order: 'desc' })
    const held = keyed.items[0]
    if (held) {
      const heldValue = normal(extractionField(held.metadata as Record<string, unknown>, 'value') ?? '')
      const newValue = normal(fact.value)
      const same = normal(held.content) === normal(fact.content)
      // The same statement with more detail: the old value followed by more words ("Paris" → "Paris, France").
      const refines = heldValue !== '' && newValue !== heldValue && newValue.startsWith(heldValue) && /^[^\p{L}\p{N}]/u.test(newValue.slice(heldValue.length))
      planned.push({ ...base, action: same ? 'none' : refines ? 'update' : 'supersede', target: held.id })
      continue
    }
    const twins = await knownMemories(ports, gptId, userId, fact.content, 3)
    const twin = twins.find((memory) => normal(memory.content) === normal(fact.content))
    planned.push({ ...base, action: twin ? 'none' : 'add', target: twin?.id ?? null })
  }
  return planned
}

function extractionField(metadata: Record<string, unknown>, field: string): string | null {
  const extraction = metadata['extraction']
  if (typeof extraction !== 'object' || extraction === null) return null
  const value = (extraction as Record<string, unknown>)[field]
  return typeof value === 'string' ? value : null
}

/**
 * Writes the decisions through the memory service, as the run (history actor `job`, id `extraction:<run>`),
 * confined to the session's user. Provenance: source {type: extraction, id: run} and, in metadata,
 * the session and messages. A decision the memory service refuses (the memory changed meanwhile) is
 * skipped and logged; the others stand.
 */
export async function applyDecisions(ports: MemoryPorts, run: RunRef, planned: PlannedDecision[]): Promise<DecisionView[]> {
  const caller: MemoryCaller = { user: run.user_id, actor: { kind: 'job', id: `extraction:${run.id}` } }
  const out: DecisionView[] = []
  for (const decision of planned) {
    const metadata = {
      extraction: {
        run_id: run.id,
        session_id: run.session_id,
        message_ids: decision.message_ids,
        ...(decision.key !== undefined ? { key: decision.key } : {}),
        ...(decision.value !== undefined ? { value: decision.value } : {}),
      },
    }
    const source = { type: 'extraction' as const, id: run.id }
    try {
      if (decision.action === 'none') {
        out.push({ action: 'none', content: decision.content, memory_id: decision.target, supersedes: null, message_ids: decision.message_ids })
      } else if (decision.action === 'update' && decision.target) {
        const { memory } = await ports.memories.updateMemory(run.gpt_id, decision.target, { content: decision.content, metadata }, caller)
        out.push({ action: 'update', content: memory.content, memory_id: memory.id, supersedes: null, message_ids: decision.message_ids })
      } else {
        const supersedes = decision.action === 'supersede' && decision.target ? decision.target : undefined
        const input = { content: decision.content, user_id: run.user_id, metadata, source, ...(supersedes ? { supersedes } : {}) }
        const { memory } = await ports.memories.writeMemory(run.gpt_id, input, caller)
        // Dedup found the fact already stored, nearly word for word: the write refreshed that memory.
        const action: ExtractionAction = supersedes ? 'supersede' : memory.deduplicated ? 'update' : 'add'
        out.push({ action, content: memory.content, memory_id: memory.id, supersedes: supersedes ?? null, message_ids: decision.message_ids })
      }
    } catch (error) {
      ports.log.warn({ err: error, run_id: run.id, action: decision.action }, 'an extraction decision could not be written; skipped')
    }
  }
  return out
}
