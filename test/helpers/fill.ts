import { sql } from 'kysely'
import { expect } from 'vitest'
import type { Database } from '../../src/platform/db/database.js'
import { login, signup } from './accounts.js'
import { connectEndUser, openConsent, pkce, postForm, registerApp } from './oauth.js'
import { bearer, createGptWithKey, injectJson, type HttpMethod, type TestApp } from './test-app.js'

/**
 * Puts rows in every table of the service through its API (and the services where no request
 * writes): what a backup, transfer or archive test compares before and after.
 */
export async function fillEveryTable(t: TestApp, gptId = 'fill-gpt'): Promise<void> {
  const { token } = await createGptWithKey(t.services, gptId, ['read', 'write', 'admin'])
  const call = async (method: HttpMethod, url: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await injectJson(t.app, method, url, { ...bearer(token), ...headers }, body)
    expect(response.statusCode, `${method} ${url}: ${response.body}`).toBeLessThan(300)
    return response.json() as Record<string, unknown>
  }
  // Retention settings are columns too: long enough that nothing expires during a test.
  await call('POST', `/v1/gpts/${gptId}/collections`, { name: 'notes', ttl_seconds: 31_536_000 })
  await call('PATCH', `/v1/gpts/${gptId}`, {
    action_exposure: { parts: ['collections', 'mail'], collections: ['notes'] },
    session_retention_days: 365,
    mail_retention_days: 365,
  })
  await call('POST', `/v1/gpts/${gptId}/collections/notes/objects`, { data: { title: 'first', body: 'a note to back up' } }, { 'idempotency-key': 'fill-1' })
  const [a, b] = [await call('POST', `/v1/gpts/${gptId}/agents`, { name: 'alice' }), await call('POST', `/v1/gpts/${gptId}/agents`, { name: 'bob' })]
  const conversation = await call('POST', `/v1/gpts/${gptId}/conversations`, { title: 'planning' })
  const mail = await call('POST', `/v1/gpts/${gptId}/mail`, { from: a!.id, to: [b!.id], conversation_id: conversation.id, content: 'hello bob' })
  await call('PUT', `/v1/mail/${String(mail.id)}/metadata/status`, { value: 'seen' })
  // Automatic extraction on, but after more turns than the fill writes: the run below is the only one.
  const character = await call('POST', `/v1/gpts/${gptId}/characters`, { name: 'Guide', agent_role: 'Be brief.', extraction: { auto: true, every_turns: 50 } })
  const session = await call('POST', `/v1/gpts/${gptId}/sessions`, { user_id: 'user-1', character_id: character.id })
  await call('POST', `/v1/sessions/${String(session.id)}/messages`, { sender: 'user', content: 'what did I save?' })
  await call('POST', `/v1/sessions/${String(session.id)}/messages`, { sender: 'user', content: 'I live in Lisbon.' })
  // An extraction run over the session, which moves its cursor and writes a memory whose provenance
  // names the run, the session and the message (the offline extractor finds the fact, not the question).
  await call('POST', `/v1/sessions/${String(session.id)}/extract`)
  await t.services.extraction.idle()
  await call('POST', `/v1/gpts/${gptId}/memories`, { entity_type: 'user', entity_id: 'user-1', content: 'likes short answers', pinned: true, importance: 0.8, ttl_seconds: 31_536_000 })
  const account = await signup(t.app)
  await login(t.app, account)
  expect((await injectJson(t.app, 'POST', '/v1/auth/login', {}, { email: account.email, password: 'wrong-Password1' })).statusCode).toBe(401)
  await t.services.signingKeys.ensure()
  // A sign-in to the admin console.
  expect((await injectJson(t.app, 'POST', '/admin/api/session', {}, { admin_token: t.adminToken })).statusCode).toBe(201)
  // The OAuth server: an app, an end user with a grant (its code and refresh token), a consent page
  // left open, and a revoked access token.
  const app = await registerApp(t.app, gptId, token)
  const tokens = await connectEndUser(t.app, app, { email: 'end-user@example.com', password: 'End-User-Secret1' })
  await openConsent(t.app, { response_type: 'code', client_id: app.client_id, code_challenge: pkce().challenge, code_challenge_method: 'S256' })
  expect((await postForm(t.app, '/oauth/revoke', { token: tokens.access_token }, { id: app.client_id, secret: app.client_secret! })).statusCode).toBe(200)
  // Vectors of documents and messages are made by a background job; here, at once.
  await t.services.changedItems.flush()
  await t.services.embeddingWorker.reindexStep(null, 100, false)
  await t.services.auditWriter?.flush()
}

/** Every table of the service's own schemas (public, pgboss), for a test to compare. */
export async function tableNames(database: Database): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    select schemaname || '.' || tablename as name from pg_tables where schemaname in ('public', 'pgboss') order by 1`.execute(database.db)
  return rows.map((row) => row.name)
}

/** Row count and a checksum of the content of each table (rows as text, in a stable order). */
export async function tableDigests(database: Database, tables: string[]): Promise<Record<string, { rows: number; md5: string }>> {
  const digests: Record<string, { rows: number; md5: string }> = {}
  for (const table of tables) {
    const [schema, name] = table.split('.') as [string, string]
    const { rows } = await sql<{ rows: number; md5: string }>`
      select count(*)::int as rows, md5(coalesce(string_agg(t::text, E'\n' order by t::text), '')) as md5 from ${sql.table(`${schema}.${name}`)} t`.execute(database.db)
    digests[table] = rows[0]!
  }
  return digests
}
