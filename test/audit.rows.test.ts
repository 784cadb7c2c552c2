import { sql } from 'kysely'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AuditEvent } from '../src/platform/audit/audit.js'
import { AuditRepository } from '../src/modules/audit/audit.repo.js'
import { AuditWriter } from '../src/modules/audit/audit.writer.js'
import { createTestDatabase, type TestDatabase } from './helpers/test-database.js'

let db: TestDatabase

beforeAll(async () => {
  db = await createTestDatabase()
}, 60_000)

afterAll(async () => {
  await db?.drop()
})

const base: AuditEvent = {
  gptId: 'rows-gpt',
  accountId: null,
  principal: { kind: 'key', id: 'key-1' },
  action: 'getObject',
  targets: {},
  status: 200,
  durationMs: 1.5,
  requestId: 'req-1',
  ip: '127.0.0.1',
  userAgent: 'test',
  request: null,
}

// Rows travel to the database as one JSON text: every value must come back as it was recorded.
const cases: [string, Partial<AuditEvent>][] = [
  ['nulls stay SQL nulls, not JSON nulls', { gptId: null, accountId: null, durationMs: null, requestId: null, ip: null, userAgent: null, request: null }],
  ['an account id and a principal without id', { accountId: '0190d6a4-5b2c-7e3f-8a1b-2c3d4e5f6a7b', principal: { kind: 'admin', id: null } }],
  ['quotes, backslashes, newlines and non-ASCII text', { userAgent: 'a "quoted"\\ agent\n\ttab — ü 日本 🙂', action: "it's" }],
  ['targets and a nested request', { targets: { object_id: 'o-1', key_id: 'k"2' }, request: { body: { list: [1, 'two', null, { deep: true }], text: '{"not": "json"}' } } }],
  ['a JSON null inside the request stays inside it', { request: { query: { cursor: null } } }],
  ['a status and a fractional duration', { status: 503, durationMs: 1234.5 }],
]

// What PostgreSQL refuses in text and jsonb (a path parameter can carry it, percent-encoded) is replaced, not allowed to fail the batch.
const unstorable: [string, Partial<AuditEvent>, Record<string, unknown>][] = [
  ['U+0000 in a target', { targets: { object_id: 'a\u0000b' } }, { targets: { object_id: 'a\ufffdb' } }],
  ['a lone high surrogate in a target', { targets: { object_id: 'x\ud800' } }, { targets: { object_id: 'x\ufffd' } }],
  ['a lone low surrogate in the user agent', { userAgent: '\udc00y' }, { user_agent: '\ufffdy' }],
  ['a pair of surrogates stays', { userAgent: 'ok \ud83d\ude42' }, { user_agent: 'ok \ud83d\ude42' }],
  ['U+0000 deep in the request', { request: { body: { list: ['\u0000'] } } }, { request: { body: { list: ['\ufffd'] } } }],
]

describe('audit rows written in batches', () => {
  it.each(cases)('%s', async (_name, change) => {
    const repo = new AuditRepository(db.database.db)
    const writer = new AuditWriter(repo, { flushMs: 600_000, batchSize: 500, maxBuffer: 1000, registry: new Registry(), onError: (error) => { throw error } })
    const event = { ...base, ...change, action: `${change.action ?? base.action}-${Math.random()}` }
    writer.record(event)
    await writer.close()
    const row = await db.database.db.selectFrom('audit_log').selectAll().where('action', '=', event.action).executeTakeFirstOrThrow()
    expect(row).toMatchObject({
      gpt_id: event.gptId,
      account_id: event.accountId,
      principal_kind: event.principal.kind,
      principal_id: event.principal.id,
      targets: event.targets,
      status: event.status,
      duration_ms: event.durationMs,
      request_id: event.requestId,
      ip: event.ip,
      user_agent: event.userAgent,
      request: event.request,
    })
    // The driver reads a JSON null and an SQL null alike: ask the database which one it holds.
    const nulls = await sql<{ request: boolean }>`select request is null as request from audit_log where action = ${event.action}`.execute(db.database.db)
    expect(nulls.rows[0]!.request).toBe(event.request === null)
    expect(row.created_at).toBeInstanceOf(Date)
    expect(Math.abs(row.created_at.getTime() - Date.now())).toBeLessThan(60_000)
  })

  it.each(unstorable)('%s', async (_name, change, stored) => {
    const repo = new AuditRepository(db.database.db)
    const writer = new AuditWriter(repo, { flushMs: 600_000, batchSize: 500, maxBuffer: 1000, registry: new Registry(), onError: (error) => { throw error } })
    const action = `unstorable-${Math.random()}`
    // A plain row in the same batch: it must be stored too.
    writer.record({ ...base, ...change, action })
    writer.record({ ...base, action: `${action}-plain` })
    await writer.close()
    const rows = await db.database.db.selectFrom('audit_log').selectAll().where('action', 'like', `${action}%`).orderBy('action').execute()
    expect(rows).toHaveLength(2)
    expect(rows[0]).toMatchObject(stored)
  })

  it('writes a batch of many rows as one insert, in order', async () => {
    const repo = new AuditRepository(db.database.db)
    const writer = new AuditWriter(repo, { flushMs: 600_000, batchSize: 250, maxBuffer: 10_000, registry: new Registry(), onError: (error) => { throw error } })
    for (let n = 0; n < 600; n++) writer.record({ ...base, gptId: 'many-gpt', action: `n-${n}` })
    await writer.close()
    const rows = await db.database.db.selectFrom('audit_log').select(['action']).where('gpt_id', '=', 'many-gpt').orderBy('id').execute()
    expect(rows.map((row) => row.action)).toEqual(Array.from({ length: 600 }, (_, n) => `n-${n}`))
  })
})
