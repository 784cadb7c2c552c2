import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CharacterView } from '../src/modules/characters/characters.schemas.js'
import { storeReply } from '../src/modules/chat/generation.store.js'
import { SessionsRepository } from '../src/modules/chat/sessions.repo.js'
import { createGptWithKey, createTestApp, type TestApp } from './helpers/test-app.js'

/**
 * storeReply, the one statement that runs before a generation calls its provider: it takes the
 * session's lease and stores the user message and the AI message in progress, or stores nothing.
 */

const GPT = 'store-reply-gpt'
const LEASE_MS = 60_000
const MISSING = '0190a1b2-0000-7000-8000-000000000000'

let t: TestApp
let sessionsRepo: SessionsRepository
let character: CharacterView
const deps = () => ({ sessionsRepo, llm: { defaultModel: 'default-model' }, limits: { generationLeaseMs: LEASE_MS } })
const userMessage = (content: string) => ({ sender: 'user' as const, content, context: { page: 'soup' } })

beforeAll(async () => {
  t = await createTestApp()
  await createGptWithKey(t.services, GPT)
  sessionsRepo = new SessionsRepository(t.db.database.db)
  character = await t.services.characters.createCharacter(GPT, { name: 'Chef', agent_role: 'You cook.', model: 'chef-model' })
})

afterAll(async () => {
  await t?.close()
})

const db = () => t.db.database.db

async function newSession(userId = 'alice') {
  return t.services.sessions.createSession(GPT, { user_id: userId })
}

async function messagesOf(sessionId: string) {
  return db()
    .selectFrom('chat_messages')
    .select(['id', 'sender', 'status', 'content', 'context', 'model', 'character_id', 'created_at'])
    .where('gpt_id', '=', GPT)
    .where('session_id', '=', sessionId)
    .orderBy('created_at')
    .orderBy('id')
    .execute()
}

async function leaseOf(sessionId: string) {
  return db()
    .selectFrom('chat_sessions')
    .select(['generating_message_id', sql<boolean>`generation_lease_until > now() + interval '50 seconds'`.as('lease_running')])
    .where('gpt_id', '=', GPT)
    .where('id', '=', sessionId)
    .executeTakeFirst()
}

describe('storeReply', () => {
  it('stores the user message before the AI message, in progress with its context, and gives the AI message the lease', async () => {
    const session = await newSession()
    const stored = await storeReply(deps(), db(), GPT, session, character, undefined, userMessage('Soup?'), { memories: [] })
    expect(stored.model).toBe('chef-model')
    expect(stored.user).toMatchObject({ sender: 'user', status: 'complete', content: 'Soup?', context: { page: 'soup' } })
    expect(stored.ai).toMatchObject({ sender: 'ai', status: 'in_progress', content: '', context: { memories: [] }, model: 'chef-model', character_id: character.id })
    const rows = await messagesOf(session.id)
    expect(rows.map((row) => row.id)).toEqual([stored.user!.id, stored.ai.id])
    expect(rows[0]!.created_at.getTime()).toBe(rows[1]!.created_at.getTime())
    expect(await leaseOf(session.id)).toEqual({ generating_message_id: stored.ai.id, lease_running: true })
  })

  it('stores only the AI message when there is no user message (generate)', async () => {
    const session = await newSession()
    const stored = await storeReply(deps(), db(), GPT, session, null, 'asked-model', null, null)
    expect(stored.user).toBeNull()
    expect(stored.ai).toMatchObject({ sender: 'ai', status: 'in_progress', model: 'asked-model', character_id: null, context: null })
    expect((await messagesOf(session.id)).map((row) => row.id)).toEqual([stored.ai.id])
    expect((await leaseOf(session.id))?.generating_message_id).toBe(stored.ai.id)
  })

  it("creates a new chat's session already holding the lease for its AI message", async () => {
    const stored = await storeReply(deps(), db(), GPT, { user_id: 'bob', character_id: character.id }, character, undefined, userMessage('Hello'), null)
    const session = await t.services.sessions.getSession(GPT, stored.session.id)
    expect(session).toMatchObject({ user_id: 'bob', character_id: character.id, name: null, metadata: {}, is_favorite: false })
    expect(stored.session).toEqual({ id: session.id, user_id: 'bob', character_id: character.id })
    expect(await leaseOf(session.id)).toEqual({ generating_message_id: stored.ai.id, lease_running: true })
    expect((await messagesOf(session.id)).map((row) => row.sender)).toEqual(['user', 'ai'])
  })

  it('answers 409 and stores nothing while another generation holds the lease', async () => {
    const session = await newSession()
    const first = await storeReply(deps(), db(), GPT, session, null, undefined, userMessage('One'), null)
    await expect(storeReply(deps(), db(), GPT, session, null, undefined, userMessage('Two'), null)).rejects.toMatchObject({ status: 409 })
    expect((await messagesOf(session.id)).map((row) => row.id)).toEqual([first.user!.id, first.ai.id])
    expect((await leaseOf(session.id))?.generating_message_id).toBe(first.ai.id)
  })

  it('takes over a lease that ran out', async () => {
    const session = await newSession()
    await storeReply(deps(), db(), GPT, session, null, undefined, null, null)
    await sql`update chat_sessions set generation_lease_until = now() - interval '1 second' where gpt_id = ${GPT} and id = ${session.id}`.execute(db())
    const second = await storeReply(deps(), db(), GPT, session, null, undefined, null, null)
    expect((await leaseOf(session.id))?.generating_message_id).toBe(second.ai.id)
  })

  it('answers 404 and stores nothing when the session is gone', async () => {
    const session = await newSession()
    await t.services.sessions.deleteSession(GPT, session.id)
    await expect(storeReply(deps(), db(), GPT, session, null, undefined, userMessage('Anyone?'), null)).rejects.toMatchObject({ status: 404 })
    await expect(storeReply(deps(), db(), GPT, { id: MISSING, user_id: 'alice', character_id: null }, null, undefined, null, null)).rejects.toMatchObject({ status: 404 })
    expect(await messagesOf(session.id)).toEqual([])
    const count = await db().selectFrom('chat_messages').select((eb) => eb.fn.countAll<string>().as('n')).where('session_id', '=', MISSING).executeTakeFirstOrThrow()
    expect(Number(count.n)).toBe(0)
  })

  it("runs in the caller's transaction: rolled back with it, nothing of it stays", async () => {
    const session = await newSession()
    let stored: Awaited<ReturnType<typeof storeReply>> | null = null
    await expect(
      db()
        .transaction()
        .execute(async (trx) => {
          stored = await storeReply(deps(), trx, GPT, session, null, undefined, userMessage('Undone'), null)
          throw new Error('the caller failed after the store')
        }),
    ).rejects.toThrow('the caller failed')
    expect(stored).not.toBeNull()
    expect(await messagesOf(session.id)).toEqual([])
    expect((await leaseOf(session.id))?.generating_message_id).toBeNull()
  })
})
