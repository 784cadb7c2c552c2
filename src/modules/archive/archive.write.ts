import { sql, type Transaction } from 'kysely'
import type { Tables } from '../../platform/db/tables.js'
import type { VectorStore } from '../search/vector-store.js'
import type { AnyRecord, RecordType } from './archive.format.js'
import type { ImportPlan } from './archive.check.js'
import { readLines } from './archive.lines.js'

const BATCH = 200

/** What the write left for the background: the rows whose vectors are still to be made. */
export interface Written {
  memoriesToEmbed: string[]
  documents: string[]
  messages: string[]
}

const json = (value: unknown) => JSON.stringify(value)
const time = (value: string) => new Date(value)
const maybeTime = (value: string | null) => (value === null ? null : new Date(value))

/**
 * Writes a checked archive into `gptId` within the caller's transaction: every id is the plan's new
 * one and every reference follows it. A memory keeps its vector only when it was made by this
 * instance's model; the others are left `pending` for the embedding job.
 */
export async function writeArchive(trx: Transaction<Tables>, gptId: string, file: string, plan: ImportPlan, store: VectorStore): Promise<Written> {
  const id = (type: RecordType, old: string) => plan.ids.get(`${type}:${old}`)!
  const ref = (type: RecordType, old: string | null) => (old === null ? null : id(type, old))
  const moved = (type: RecordType, old: string) => plan.ids.get(`${type}:${old}`) ?? old
  const movedRef = (type: RecordType, old: string | null) => (old === null ? null : moved(type, old))
  const written: Written = { memoriesToEmbed: [], documents: [], messages: [] }
  const parents: { id: string; parent: string }[] = []
  const gpt = plan.header.gpt
  await trx
    .updateTable('gpts')
    .set({
      description: gpt.description,
      action_exposure: gpt.action_exposure === null ? null : json(gpt.action_exposure),
      session_retention_days: gpt.session_retention_days,
      mail_retention_days: gpt.mail_retention_days,
      updated_at: new Date(),
    })
    .where('id', '=', gptId)
    .execute()

  const batch: AnyRecord[] = []
  const flush = async () => {
    if (batch.length === 0) return
    const records = batch.splice(0)
    switch (records[0]!.type) {
      case 'collection':
        await trx.insertInto('collections').values(records.flatMap((r) => r.type === 'collection' ? [{
          gpt_id: gptId, name: r.name, schema: r.schema === null ? null : json(r.schema), per_user: r.per_user, ttl_seconds: r.ttl_seconds,
          created_at: time(r.created_at), updated_at: time(r.updated_at),
        }] : [])).execute()
        break
      case 'document': {
        const rows = records.flatMap((r) => r.type === 'document' ? [{
          gpt_id: gptId, id: id('document', r.id), collection: r.collection, body: json(r.body), user_id: r.user_id, version: r.version,
          created_at: time(r.created_at), updated_at: time(r.updated_at),
        }] : [])
        await trx.insertInto('objects').values(rows).execute()
        written.documents.push(...rows.map((row) => row.id))
        break
      }
      case 'agent':
        await trx.insertInto('agents').values(records.flatMap((r) => r.type === 'agent' ? [{
          gpt_id: gptId, id: id('agent', r.id), name: r.name, address: r.address, port: r.port, metadata: json(r.metadata),
          created_at: time(r.created_at), updated_at: time(r.updated_at),
        }] : [])).execute()
        break
      case 'conversation':
        await trx.insertInto('conversations').values(records.flatMap((r) => r.type === 'conversation' ? [{
          gpt_id: gptId, id: id('conversation', r.id), title: r.title, description: r.description, archived: r.archived, metadata: json(r.metadata),
          created_at: time(r.created_at), updated_at: time(r.updated_at),
        }] : [])).execute()
        break
      case 'mail':
        await writeMail(trx, gptId, records, { id, ref }, parents)
        break
      case 'character':
        await trx.insertInto('characters').values(records.flatMap((r) => r.type === 'character' ? [{
          gpt_id: gptId, id: id('character', r.id), name: r.name, agent_role: r.agent_role, model: r.model, temperature: r.temperature, memory: json(r.memory),
          extraction: json(r.extraction ?? { auto: false }),
          created_at: time(r.created_at), updated_at: time(r.updated_at), deleted_at: maybeTime(r.deleted_at),
        }] : [])).execute()
        break
      case 'session':
        await trx.insertInto('chat_sessions').values(records.flatMap((r) => r.type === 'session' ? [{
          gpt_id: gptId, id: id('session', r.id), user_id: r.user_id, name: r.name, metadata: json(r.metadata), character_id: ref('character', r.character_id),
          is_favorite: r.is_favorite, last_activity_at: time(r.last_activity_at), generating_message_id: null, generation_lease_until: null,
          created_at: time(r.created_at), updated_at: time(r.updated_at),
        }] : [])).execute()
        break
      case 'message': {
        const rows = records.flatMap((r) => r.type === 'message' ? [{
          gpt_id: gptId, id: id('message', r.id), session_id: id('session', r.session_id), sender: r.sender, content: r.content,
          context: r.context === null || r.context === undefined ? null : json(r.context),
          // No process generates it here: a reply cut off by the export is failed, ready for resume.
          status: r.status === 'in_progress' ? 'failed' as const : r.status,
          partial_content: r.partial_content,
          error_message: r.status === 'in_progress' ? (r.error_message ?? 'interrupted: exported while being generated') : r.error_message,
          model: r.model, character_id: ref('character', r.character_id), created_at: time(r.created_at), updated_at: time(r.updated_at),
        }] : [])
        await trx.insertInto('chat_messages').values(rows).execute()
        written.messages.push(...rows.map((row) => row.id))
        break
      }
      case 'extraction_run':
        await trx.insertInto('extraction_runs').values(records.flatMap((r) => r.type === 'extraction_run' ? [{
          gpt_id: gptId, id: id('extraction_run', r.id), session_id: id('session', r.session_id), user_id: r.user_id, trigger: r.trigger,
          // No process runs it here: a run cut off by the export failed, and its cursor stayed (the next run reads the same messages).
          status: r.status === 'running' ? 'failed' as const : r.status,
          reason: r.status === 'running' ? 'interrupted: exported while running' : r.reason,
          extractor: r.extractor, from_message_id: movedRef('message', r.from_message_id), to_message_id: movedRef('message', r.to_message_id),
          messages_read: r.messages_read, decisions: json(r.decisions.map((d) => ({
            ...d, memory_id: movedRef('memory', d.memory_id), supersedes: movedRef('memory', d.supersedes), message_ids: d.message_ids.map((m) => moved('message', m)),
          }))),
          summary: json(r.summary), tokens_in: r.tokens_in, tokens_out: r.tokens_out, attempts: r.attempts,
          created_at: time(r.created_at), started_at: maybeTime(r.started_at), finished_at: maybeTime(r.finished_at),
        }] : [])).execute()
        break
      case 'extraction_cursor':
        await trx.insertInto('extraction_cursors').values(records.flatMap((r) => r.type === 'extraction_cursor' ? [{
          gpt_id: gptId, session_id: id('session', r.session_id), message_id: moved('message', r.message_id),
          message_created_at: time(r.message_created_at), updated_at: time(r.updated_at),
        }] : [])).execute()
        break
      case 'memory':
        for (const r of records) {
          if (r.type !== 'memory') continue
          const keep = r.embedding !== null && r.embedding.model === store.model && r.embedding.dims === store.dims
          const memoryId = id('memory', r.id)
          await trx.insertInto('memories').values({
            gpt_id: gptId, id: memoryId, entity_type: r.entity_type, entity_id: r.entity_id, user_id: r.user_id, content: r.content,
            metadata: json(movedMetadata(r.metadata, moved)), embedding_status: keep ? 'ready' : 'pending', revision: r.revision,
            expires_at: maybeTime(r.expires_at), source: json(movedSource(r.source, moved)), valid_from: time(r.valid_from), valid_to: maybeTime(r.valid_to),
            superseded_by: r.superseded_by === null ? null : (plan.ids.get(`memory:${r.superseded_by}`) ?? null), pinned: r.pinned, importance: r.importance,
            created_at: time(r.created_at), updated_at: time(r.updated_at),
          }).execute()
          if (keep) await store.put(trx, gptId, { source: 'memories', id: memoryId }, r.embedding!.vector, time(r.updated_at))
          else written.memoriesToEmbed.push(memoryId)
        }
        break
    }
  }

  for await (const { number, text } of readLines(file)) {
    if (number === 1) continue
    const record = JSON.parse(text) as AnyRecord | { type: 'end' }
    if (record.type === 'end') break
    if (batch.length > 0 && (batch[0]!.type !== record.type || batch.length >= BATCH)) await flush()
    batch.push(record)
  }
  await flush()
  // Parents last: a reply may come before the mail it answers when both were sent in the same millisecond.
  for (let start = 0; start < parents.length; start += BATCH) {
    await sql`update mail m set parent_id = (p->>'parent')::uuid
      from json_array_elements(${json(parents.slice(start, start + BATCH))}::json) p
      where m.gpt_id = ${gptId} and m.id = (p->>'id')::uuid`.execute(trx)
  }
  return written
}

type Moved = (type: RecordType, old: string) => string

/** A memory's provenance names a message (and its session), a document or an extraction run of the archive: they have new ids here. */
function movedSource(source: { type: string; id?: string; parent?: string }, moved: Moved) {
  const move = (type: RecordType, old: string | undefined) => (old === undefined ? undefined : moved(type, old))
  if (source.type === 'chat_message') return { ...source, id: move('message', source.id), parent: move('session', source.parent) }
  if (source.type === 'document') return { ...source, id: move('document', source.id) }
  if (source.type === 'extraction') return { ...source, id: move('extraction_run', source.id) }
  return source
}

/** An extracted memory's `metadata.extraction` names its run, session and messages; other metadata is the client's own, kept as it is. */
function movedMetadata(metadata: Record<string, unknown>, moved: Moved): Record<string, unknown> {
  const extraction = metadata.extraction
  if (typeof extraction !== 'object' || extraction === null || Array.isArray(extraction)) return metadata
  const { run_id, session_id, message_ids } = extraction as Record<string, unknown>
  return {
    ...metadata,
    extraction: {
      ...extraction,
      ...(typeof run_id === 'string' ? { run_id: moved('extraction_run', run_id) } : {}),
      ...(typeof session_id === 'string' ? { session_id: moved('session', session_id) } : {}),
      ...(Array.isArray(message_ids) ? { message_ids: message_ids.map((m: unknown) => (typeof m === 'string' ? moved('message', m) : m)) } : {}),
    },
  }
}

type Ids = { id(type: RecordType, old: string): string; ref(type: RecordType, old: string | null): string | null }

async function writeMail(trx: Transaction<Tables>, gptId: string, records: AnyRecord[], { id, ref }: Ids, parents: { id: string; parent: string }[]): Promise<void> {
  const mail = records.flatMap((r) => (r.type === 'mail' ? [r] : []))
  await trx.insertInto('mail').values(mail.map((r) => ({
    gpt_id: gptId, id: id('mail', r.id), sender_id: id('agent', r.sender_id), conversation_id: ref('conversation', r.conversation_id), parent_id: null,
    type: r.mail_type, importance: r.importance, content: r.content, metadata: json(r.metadata), created_at: time(r.created_at), edited_at: maybeTime(r.edited_at),
  }))).execute()
  for (const r of mail) if (r.parent_id !== null) parents.push({ id: id('mail', r.id), parent: id('mail', r.parent_id) })
  const recipients = mail.flatMap((r) => r.recipients.map((recipient) => ({
    gpt_id: gptId, mail_id: id('mail', r.id), agent_id: id('agent', recipient.agent_id), created_at: time(recipient.created_at), read_at: maybeTime(recipient.read_at),
  })))
  if (recipients.length > 0) await trx.insertInto('mail_recipients').values(recipients).execute()
  const tags = mail.flatMap((r) => r.tags.map((tag) => ({
    gpt_id: gptId, mail_id: id('mail', r.id), key: tag.key, value: json(tag.value), set_by: ref('agent', tag.set_by),
    created_at: time(tag.created_at), updated_at: time(tag.updated_at),
  })))
  if (tags.length > 0) await trx.insertInto('mail_metadata').values(tags).execute()
}
