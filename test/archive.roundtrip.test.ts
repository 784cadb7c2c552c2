import { createHash } from 'node:crypto'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fillEveryTable } from './helpers/fill.js'
import { emptyGpt, exportGpt, importGpt, lines, normalised } from './helpers/archive.js'
import { bearer, createGptWithKey, keySecret, type TestApp, createTestApp } from './helpers/test-app.js'

// A GPT with every kind of data, exported, imported into a fresh GPT and exported again: the same
// records (ids aside), the same rows per table, and never a secret in the archive.

let t: TestApp
let token: string
let archive: string

/** Rows of a GPT per table, for the tables an archive carries. */
async function rowsOf(gptId: string): Promise<Record<string, number>> {
  const tables = ['collections', 'objects', 'agents', 'conversations', 'mail', 'mail_recipients', 'mail_metadata', 'characters', 'chat_sessions', 'chat_messages', 'memories']
  const counts: Record<string, number> = {}
  for (const table of tables) {
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
    expect(new Set(types)).toEqual(new Set(['collection', 'document', 'agent', 'conversation', 'mail', 'character', 'session', 'message', 'memory']))
    expect(trailer).toMatchObject({ type: 'end', records: types.length, counts: { document: 1, agent: 2, mail: 1, memory: 1 } })
    const body = archive.slice(0, archive.lastIndexOf('\n', archive.length - 2) + 1)
    expect(trailer.sha256).toBe(createHash('sha256').update(body).digest('hex'))
    const memory = all.find((line) => line.type === 'memory') as { embedding: { vector: number[]; dims: number } }
    expect(memory.embedding.vector).toHaveLength(memory.embedding.dims)
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

  it('leaves the vectors out with vectors=false; the imported memories are embedded afterwards', async () => {
    const bare = await exportGpt(t, 'source-gpt', token, '?vectors=false')
    expect(lines(bare)[0]).toMatchObject({ vectors: false })
    expect(lines(bare).filter((line) => line.type === 'memory').every((line) => line.embedding === null)).toBe(true)
    const target = await emptyGpt(t, 'bare-gpt')
    const response = await importGpt(t, 'bare-gpt', target, bare)
    expect(response.statusCode, response.body).toBe(201)
    expect(response.json().memories_to_embed).toBe(1)
    const list = async () => (await t.app.inject({ method: 'GET', url: '/v1/gpts/bare-gpt/memories', headers: bearer(target) })).json().memories
    expect(await list()).toMatchObject([{ embedding_status: 'pending', embedding_model: null }])
    await t.services.embeddingWorker.reindexStep('bare-gpt', 100, false)
    expect(await list()).toMatchObject([{ embedding_status: 'ready', embedding_model: t.services.embedder.model }])
    // With the vector made again by the same model, the copy's archive is the source's.
    expect(normalised(await exportGpt(t, 'bare-gpt', target))).toEqual(normalised(archive))
  })
})
