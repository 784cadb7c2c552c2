import { createHash } from 'node:crypto'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fillEveryTable } from './helpers/fill.js'
import { edited, emptyGpt, exportGpt, importGpt, lines, normalised } from './helpers/archive.js'
import { bearer, createGptWithKey, keySecret, type TestApp, createTestApp } from './helpers/test-app.js'

// A GPT with every kind of data, exported, imported into a fresh GPT and exported again: the same
// records (ids aside), the same rows per table, and never a secret in the archive.

let t: TestApp
let token: string
let archive: string
/** The admin key of the GPT the archive was imported into. */
let copy: string

/** The tables of a GPT's rows an archive carries. */
const CARRIED = [
  'collections',
  'objects',
  'agents',
  'conversations',
  'mail',
  'mail_recipients',
  'mail_metadata',
  'characters',
  'chat_sessions',
  'chat_messages',
  'extraction_runs',
  'extraction_cursors',
  'memories',
]
/** The tables of a GPT's rows an archive leaves out (docs/archive.md, What is not in an archive). */
const LEFT_OUT = [
  'api_keys',
  'audit_log',
  'embeddings',
  'idempotency_keys',
  'memory_history',
  'oauth_apps',
  'oauth_end_users',
  'oauth_grants',
]

/** Rows of a GPT per table, for the tables an archive carries. */
async function rowsOf(gptId: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {}
  for (const table of CARRIED) {
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)} where gpt_id = ${gptId}`.execute(t.db.database.db)
    counts[table] = rows[0]!.n
  }
  return counts
}

beforeAll(async () => {
  t = await createTestApp()
  await fillEveryTable(t, 'source-gpt')
  token = (await createGptWithKey(t.services, 'source-gpt', ['read', 'write', 'admin'])).token
  archive = await exportGpt(t, 'source-gpt', token)
}, 180_000)

afterAll(async () => {
  await t?.close()
})

describe('GPT archive round trip', () => {
  it('writes a header, the records in dependency order, and a trailer that checks them', () => {
    const all = lines(archive)
    const [header, trailer] = [all[0]!, all[all.length - 1]!]
    expect(header).toMatchObject({ format: 'agentstore.gpt-archive', version: 1, vectors: true, gpt: { id: 'source-gpt', session_retention_days: 365 } })
    expect(header.schema_version).toMatch(/^\d{4}_/)
    const types = all.slice(1, -1).map((line) => line.type)
    expect([...new Set(types)]).toEqual(['collection', 'document', 'agent', 'conversation', 'mail', 'character', 'session', 'message', 'extraction_run', 'extraction_cursor', 'memory'])
    expect(trailer).toMatchObject({ type: 'end', records: types.length, counts: { document: 1, agent: 2, mail: 1, extraction_run: 1, extraction_cursor: 1, memory: 2 } })
    const body = archive.slice(0, archive.lastIndexOf('\n', archive.length - 2) + 1)
    expect(trailer.sha256).toBe(createHash('sha256').update(body).digest('hex'))
    const memory = all.find((line) => line.type === 'memory') as { embedding: { vector: number[]; dims: number } }
    expect(memory.embedding.vector).toHaveLength(memory.embedding.dims)
  })

  it('carries every table of a GPT\'s rows, or leaves it out on purpose; the fill writes rows in each carried one', async () => {
    const { rows } = await sql<{ name: string }>`select table_name as name from information_schema.columns
      where table_schema = 'public' and column_name = 'gpt_id'`.execute(t.db.database.db)
    expect(rows.map((row) => row.name).sort()).toEqual([...CARRIED, ...LEFT_OUT].sort())
    const held = await rowsOf('source-gpt')
    expect(CARRIED.filter((table) => held[table] === 0)).toEqual([])
  })

  it('holds no secret: no key, key hash, password hash or app secret', async () => {
    expect(archive).not.toContain('ak_')
    expect(archive).not.toContain(keySecret(token))
    expect(archive).not.toContain('$argon2')
    expect(archive).not.toContain('password')
    const { rows } = await sql<{ hash: string }>`select encode(secret_hash, 'hex') as hash from api_keys where gpt_id = 'source-gpt'
      union all select encode(secret_hash, 'hex') from oauth_apps where gpt_id = 'source-gpt' and secret_hash is not null
      union all select client_id from oauth_apps where gpt_id = 'source-gpt'`.execute(t.db.database.db)
    expect(rows.length).toBeGreaterThan(1)
    for (const { hash } of rows) expect(archive).not.toContain(hash)
  })

  it('imports into an empty GPT with new ids, and exports again to the same records', async () => {
    const target = await emptyGpt(t, 'copy-gpt')
    copy = target
    const response = await importGpt(t, 'copy-gpt', target, archive)
    expect(response.statusCode, response.body).toBe(201)
    expect(response.json()).toMatchObject({ gpt_id: 'copy-gpt', records: lines(archive).length - 2, memories_to_embed: 0 })
    expect(await rowsOf('copy-gpt')).toEqual(await rowsOf('source-gpt'))
    const again = await exportGpt(t, 'copy-gpt', target)
    expect(normalised(again)).toEqual(normalised(archive))
    // Every id is new: none of the source's appears in the copy.
    const ids = (text: string) => new Set(text.match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g))
    const shared = [...ids(again)].filter((id) => ids(archive).has(id))
    expect(shared).toEqual([])
    const settings = (await t.app.inject({ method: 'GET', url: '/v1/gpts/copy-gpt', headers: bearer(target) })).json()
    expect(settings).toMatchObject({ session_retention_days: 365, mail_retention_days: 365, action_exposure: { parts: ['collections', 'mail'], collections: ['notes'] } })
    // The copy works like any GPT: its mail thread and chat history read back through the API.
    const mail = lines(again).find((line) => line.type === 'mail') as { id: string; recipients: { agent_id: string }[] }
    const inbox = await t.app.inject({ method: 'GET', url: `/v1/agents/${mail.recipients[0]!.agent_id}/inbox`, headers: bearer(target) })
    expect(inbox.json().mail.map((item: { id: string }) => item.id)).toEqual([mail.id])
  })

  it('carries extraction: the character\'s setting, the run and cursor, and provenance that names the imported rows', async () => {
    const get = async <T>(url: string): Promise<T> => {
      const response = await t.app.inject({ method: 'GET', url, headers: bearer(copy) })
      expect(response.statusCode, `${url}: ${response.body}`).toBe(200)
      return response.json<T>()
    }
    type Memory = { id: string; source: { type: string; id: string }; metadata: { extraction: { run_id: string; session_id: string; message_ids: string[] } } }
    const memories = (await get<{ memories: Memory[] }>('/v1/gpts/copy-gpt/memories?user_id=user-1')).memories
    const extracted = memories.find((memory) => memory.source.type === 'extraction')!
    const provenance = extracted.metadata.extraction
    expect(provenance.run_id).toBe(extracted.source.id)
    const run = await get<{ id: string; session_id: string; to_message_id: string; decisions: unknown[] }>(`/v1/extractions/${extracted.source.id}`)
    expect(run).toMatchObject({ session_id: provenance.session_id, status: 'done', to_message_id: provenance.message_ids[0] })
    expect(run.decisions).toEqual([expect.objectContaining({ action: 'add', memory_id: extracted.id, message_ids: provenance.message_ids })])
    expect(await get(`/v1/messages/${provenance.message_ids[0]}`)).toMatchObject({ session_id: run.session_id, content: 'I live in Lisbon.' })
    expect((await get<{ extractions: { id: string }[] }>(`/v1/sessions/${run.session_id}/extractions`)).extractions.map((r) => r.id)).toEqual([run.id])
    expect((await get<{ characters: unknown[] }>('/v1/gpts/copy-gpt/characters')).characters).toEqual([expect.objectContaining({ extraction: { auto: true, every_turns: 50 } })])
    // The cursor came too: a new run of the session has nothing new to read.
    const again = await t.app.inject({ method: 'POST', url: `/v1/sessions/${run.session_id}/extract`, headers: bearer(copy) })
    expect(again.statusCode, again.body).toBe(202)
    await t.services.extraction.idle()
    expect(await get(`/v1/extractions/${again.json<{ id: string }>().id}`)).toMatchObject({ status: 'done', messages_read: 0 })
  })

  it('imports an archive written before extraction: no runs or cursors, characters without the setting', async () => {
    const body = edited(archive, (records) =>
      records.filter((r) => !String(r.type).startsWith('extraction_')).map((r) => (r.type === 'character' ? { ...r, extraction: undefined } : r)),
    )
    const all = lines(body)
    const trailer = all[all.length - 1] as { counts: Record<string, number> }
    const { extraction_run: _run, extraction_cursor: _cursor, ...counts } = trailer.counts
    const old = `${body.slice(0, body.lastIndexOf('\n', body.length - 2) + 1)}${JSON.stringify({ ...trailer, counts })}\n`
    const target = await emptyGpt(t, 'old-gpt')
    const response = await importGpt(t, 'old-gpt', target, old)
    expect(response.statusCode, response.body).toBe(201)
    const characters = await t.app.inject({ method: 'GET', url: '/v1/gpts/old-gpt/characters', headers: bearer(target) })
    expect(characters.json().characters).toEqual([expect.objectContaining({ extraction: { auto: false, every_turns: 10 } })])
    expect(await rowsOf('old-gpt')).toMatchObject({ extraction_runs: 0, extraction_cursors: 0, memories: 2 })
  })

  it('imports a run the export caught running as failed, saying so (no process runs it here)', async () => {
    const running = edited(archive, (records) => records.map((r) => (r.type === 'extraction_run' ? { ...r, status: 'running', finished_at: null } : r)))
    const target = await emptyGpt(t, 'running-gpt')
    expect((await importGpt(t, 'running-gpt', target, running)).statusCode).toBe(201)
    const run = lines(await exportGpt(t, 'running-gpt', target)).find((line) => line.type === 'extraction_run')
    expect(run).toMatchObject({ status: 'failed', reason: 'interrupted: exported while running' })
  })

  it('leaves the vectors out with vectors=false; the imported memories are embedded afterwards', async () => {
    const bare = await exportGpt(t, 'source-gpt', token, '?vectors=false')
    expect(lines(bare)[0]).toMatchObject({ vectors: false })
    expect(lines(bare).filter((line) => line.type === 'memory').every((line) => line.embedding === null)).toBe(true)
    const target = await emptyGpt(t, 'bare-gpt')
    const response = await importGpt(t, 'bare-gpt', target, bare)
    expect(response.statusCode, response.body).toBe(201)
    expect(response.json().memories_to_embed).toBe(2)
    const list = async () => (await t.app.inject({ method: 'GET', url: '/v1/gpts/bare-gpt/memories', headers: bearer(target) })).json().memories
    const pending = { embedding_status: 'pending', embedding_model: null }
    expect(await list()).toMatchObject([pending, pending])
    await t.services.embeddingWorker.reindexStep('bare-gpt', 100, false)
    const ready = { embedding_status: 'ready', embedding_model: t.services.embedder.model }
    expect(await list()).toMatchObject([ready, ready])
    // With the vector made again by the same model, the copy's archive is the source's.
    expect(normalised(await exportGpt(t, 'bare-gpt', target))).toEqual(normalised(archive))
  })
})
