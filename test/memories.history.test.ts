import { describe, expect, it } from 'vitest'
import { expectProblem } from './helpers/problem.js'
import type { MemoryHistoryView, MemoryView } from '../src/modules/memories/memories.schemas.js'
import { GPT, MEMORIES, MISSING_ID, t, call, write, pointers, useMemoriesApi, otherWriter, reader } from './helpers/memories-api.js'

useMemoriesApi()

async function history(id: string, token?: string): Promise<MemoryHistoryView['history']> {
  const response = await call('GET', `/v1/memories/${id}/history`, undefined, token)
  expect(response.statusCode, response.body).toBe(200)
  return response.json<MemoryHistoryView>().history
}

async function keyIdOf(): Promise<string> {
  const row = await t.db.database.db.selectFrom('api_keys').select('id').where('gpt_id', '=', GPT).orderBy('created_at').executeTakeFirstOrThrow()
  return row.id
}

describe('provenance', () => {
  it('records where a memory came from: manual by default, a chat message or document of the GPT with its parent, an extraction job', async () => {
    expect((await write({ content: 'Typed in by hand.' })).source).toEqual({ type: 'manual' })
    const session = (await call('POST', `/v1/gpts/${GPT}/sessions`, { user_id: 'prov' })).json<{ id: string }>()
    const message = (await call('POST', `/v1/sessions/${session.id}/messages`, { sender: 'user', content: 'I moved to Lisbon last week.' })).json<{ id: string }>()
    const fromChat = await write({ content: 'Lives in Lisbon.', user_id: 'prov', source: { type: 'chat_message', id: message.id } })
    expect(fromChat.source).toEqual({ type: 'chat_message', id: message.id, parent: session.id })
    await call('POST', `/v1/gpts/${GPT}/collections`, { name: 'cv' })
    const document = (await call('POST', `/v1/gpts/${GPT}/collections/cv/objects`, { data: { role: 'nurse' } })).json<{ id: string }>()
    const fromDocument = await write({ content: 'Works as a nurse.', source: { type: 'document', id: document.id } })
    expect(fromDocument.source).toEqual({ type: 'document', id: document.id, parent: 'cv' })
    const extracted = await write({ content: 'Prefers mornings.', source: { type: 'extraction', id: 'job-42' } })
    expect(extracted.source).toEqual({ type: 'extraction', id: 'job-42' })
    // GET answers the same: why it is known.
    expect((await call('GET', `/v1/memories/${fromChat.id}`)).json<MemoryView>().source).toEqual(fromChat.source)
  })

  it.each([
    { name: 'a chat message without id', source: { type: 'chat_message' } },
    { name: 'an unknown chat message', source: { type: 'chat_message', id: MISSING_ID } },
    { name: 'an unknown document', source: { type: 'document', id: 'not-a-document' } },
    { name: 'an extraction without id', source: { type: 'extraction' } },
    { name: 'an unknown type', source: { type: 'rumour', id: 'x' } },
  ])('refuses $name with 422', async ({ source }) => {
    const response = await call('POST', MEMORIES, { content: 'Bad provenance.', source })
    expectProblem(response, 422, MEMORIES, 'validation-failed')
    expect(pointers(response).some((pointer) => pointer.startsWith('/source'))).toBe(true)
  })
})

describe('history', () => {
  it('keeps every change with the old and new fields, the actor and the time', async () => {
    const keyId = await keyIdOf()
    const memory = await write({ content: 'Drinks coffee black.', entity_type: 'habit', entity_id: 'coffee' })
    await write({ content: 'Drinks coffee with oat milk.', entity_type: 'habit', entity_id: 'coffee' }, 200)
    await call('PATCH', `/v1/memories/${memory.id}`, { pinned: true, metadata: { checked: true } })
    const entries = await history(memory.id)
    expect(entries.map((entry) => entry.action)).toEqual(['create', 'update', 'update'])
    expect(entries[0]).toMatchObject({ old: null, new: { content: 'Drinks coffee black.' }, actor: { kind: 'key', id: keyId } })
    expect(entries[1]).toMatchObject({ old: { content: 'Drinks coffee black.' }, new: { content: 'Drinks coffee with oat milk.' } })
    // The old version's validity is kept: it was true from its valid_from until the new one's.
    expect(Date.parse(entries[1]!.new!.valid_from as string)).toBeGreaterThan(Date.parse(entries[1]!.old!.valid_from as string))
    expect(entries[2]).toMatchObject({ old: { pinned: false, metadata: {} }, new: { pinned: true, metadata: { checked: true } } })
    for (const entry of entries) expect(Date.parse(entry.at)).not.toBeNaN()
  })

  it('a delete keeps a tombstone (who, when) and forgets the content of every entry', async () => {
    const memory = await write({ content: 'Secret: collects garden gnomes.' })
    await call('PATCH', `/v1/memories/${memory.id}`, { content: 'Secret: collects rare garden gnomes.' })
    expect((await call('DELETE', `/v1/memories/${memory.id}`)).statusCode).toBe(204)
    const entries = await history(memory.id)
    expect(entries.map((entry) => entry.action)).toEqual(['create', 'update', 'delete'])
    for (const entry of entries) expect(entry).toMatchObject({ old: null, new: null })
    expect(JSON.stringify(entries)).not.toContain('gnomes')
    expectProblem(await call('GET', `/v1/memories/${memory.id}`), 404, `/v1/memories/${memory.id}`, 'not-found')
  })

  it('DELETE ?purge=true removes the history too', async () => {
    const memory = await write({ content: 'Purge me entirely.' })
    expect((await call('DELETE', `/v1/memories/${memory.id}?purge=true`)).statusCode).toBe(204)
    const url = `/v1/memories/${memory.id}/history`
    expectProblem(await call('GET', url), 404, url, 'not-found')
    const rows = await t.db.database.db.selectFrom('memory_history').select('id').where('memory_id', '=', memory.id).execute()
    expect(rows).toEqual([])
    expectProblem(await call('DELETE', `/v1/memories/${memory.id}?purge=maybe`), 422, `/v1/memories/${memory.id}?purge=maybe`, 'validation-failed')
  })

  it('answers 404 for an unknown memory or another GPT\'s, and a read key may read it', async () => {
    const memory = await write({ content: 'History is per GPT.' })
    expectProblem(await call('GET', `/v1/memories/${MISSING_ID}/history`), 404, `/v1/memories/${MISSING_ID}/history`, 'not-found')
    expectProblem(await call('GET', `/v1/memories/${memory.id}/history`, undefined, otherWriter), 404, `/v1/memories/${memory.id}/history`, 'not-found')
    expect((await history(memory.id, reader)).map((entry) => entry.action)).toEqual(['create'])
  })
})
