import { sql, type Kysely } from 'kysely'
import type { MemorySource, Tables } from '../../platform/db/tables.js'
import { ERR } from '../../platform/errors.js'
import { auditPrincipal } from '../../platform/audit/audit.js'
import { endUserOf, type Principal } from '../../platform/auth/principal.js'
import type { MemoryCaller } from './memories.service.js'
import type { MemoryRow } from './memories.repo.js'
import type { MemoryInput, MemoryView, PatchMemoryInput } from './memories.schemas.js'

/** The caller of a memory change: the end user it is confined to, and the actor its history names. */
export function memoryCaller(principal: Principal | null): MemoryCaller {
  return { user: endUserOf(principal), actor: auditPrincipal(principal) }
}

export function toMemoryView(row: MemoryRow): MemoryView {
  return {
    id: row.id,
    gpt_id: row.gpt_id,
    content: row.content,
    entity_type: row.entity_type,
    entity_id: row.entity_id,
    user_id: row.user_id,
    metadata: row.metadata,
    embedding_status: row.embedding_status,
    embedding_error: row.embedding_error,
    embedding_model: row.embedding_model,
    expires_at: row.expires_at?.toISOString() ?? null,
    source: row.source,
    valid_from: row.valid_from.toISOString(),
    valid_to: row.valid_to?.toISOString() ?? null,
    superseded_by: row.superseded_by,
    pinned: row.pinned,
    importance: row.importance,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  }
}

/** The times a write or a PATCH sets, checked: `at` is the JSON pointer prefix of the memory in the body. */
export function timesOf(input: MemoryInput | PatchMemoryInput, at: string): { expires_at?: Date | null; valid_from?: Date; valid_to?: Date | null } {
  if (input.expires_at !== undefined && input.ttl_seconds !== undefined) {
    throw ERR.validation('Give expires_at or ttl_seconds, not both.', [{ pointer: `${at}/ttl_seconds`, location: 'body', message: 'not with expires_at' }])
  }
  const expires = input.ttl_seconds !== undefined ? new Date(Date.now() + input.ttl_seconds * 1000) : input.expires_at === undefined ? undefined : input.expires_at === null ? null : new Date(input.expires_at)
  const validFrom = input.valid_from === undefined ? undefined : new Date(input.valid_from)
  const validTo = input.valid_to === undefined ? undefined : input.valid_to === null ? null : new Date(input.valid_to)
  if (validFrom && validTo && validTo < validFrom) {
    throw ERR.validation('valid_to must not be before valid_from.', [{ pointer: `${at}/valid_to`, location: 'body', message: 'before valid_from' }])
  }
  return {
    ...(expires !== undefined ? { expires_at: expires } : {}),
    ...(validFrom !== undefined ? { valid_from: validFrom } : {}),
    ...(validTo !== undefined ? { valid_to: validTo } : {}),
  }
}

/**
 * The source of a write, checked: a chat message or document must be one of the GPT's (and, for an
 * end user, one they can read), and is recorded with its session or collection.
 */
export async function sourceOf(db: Kysely<Tables>, gptId: string, input: MemoryInput['source'], user: string | null, at: string): Promise<MemorySource> {
  if (!input || input.type === 'manual') return { type: 'manual', ...(input?.id ? { id: input.id } : {}) }
  const pointer = `${at}/source/id`
  if (!input.id) throw ERR.validation(`A source of type ${input.type} needs its id.`, [{ pointer, location: 'body', message: 'required' }])
  if (input.type === 'extraction') return { type: 'extraction', id: input.id }
  const { rows } =
    input.type === 'chat_message'
      ? await sql<{ parent: string }>`select m.session_id::text as parent from chat_messages m join chat_sessions s on s.gpt_id = m.gpt_id and s.id = m.session_id
          where m.gpt_id = ${gptId} and m.id::text = ${input.id} ${user === null ? sql`` : sql`and s.user_id = ${user}`}`.execute(db)
      : await sql<{ parent: string }>`select o.collection as parent from objects o
          where o.gpt_id = ${gptId} and o.id::text = ${input.id} ${user === null ? sql`` : sql`and (o.user_id is null or o.user_id = ${user})`}`.execute(db)
  const found = rows[0]
  if (!found) throw ERR.validation(`No ${input.type === 'chat_message' ? 'chat message' : 'document'} ${input.id} in this GPT.`, [{ pointer, location: 'body', message: 'not found' }])
  return { type: input.type, id: input.id, parent: found.parent }
}
