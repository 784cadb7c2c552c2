import { Readable } from 'node:stream'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fillEveryTable } from './helpers/fill.js'
import { edited, emptyGpt, exportGpt, importGpt, lines, NDJSON } from './helpers/archive.js'
import { expectProblem } from './helpers/problem.js'
import { bearer, createGptWithKey, createTestApp, injectJson, type TestApp } from './helpers/test-app.js'

// Every refused import answers its problem and writes nothing: the target GPT stays empty.

let t: TestApp
let archive: string
let target: string
const url = '/v1/gpts/target-gpt/import'

async function targetRows(): Promise<number> {
  const { rows } = await sql<{ n: number }>`select
    (select count(*) from collections where gpt_id = 'target-gpt') + (select count(*) from objects where gpt_id = 'target-gpt') +
    (select count(*) from agents where gpt_id = 'target-gpt') + (select count(*) from mail where gpt_id = 'target-gpt') +
    (select count(*) from chat_sessions where gpt_id = 'target-gpt') + (select count(*) from memories where gpt_id = 'target-gpt') +
    (select count(*) from characters where gpt_id = 'target-gpt') + (select count(*) from conversations where gpt_id = 'target-gpt') +
    (select count(*) from extraction_runs where gpt_id = 'target-gpt') + (select count(*) from extraction_cursors where gpt_id = 'target-gpt') as n`.execute(t.db.database.db)
  return Number(rows[0]!.n)
}

/** Imports into the empty target; expects a 422 listing the refused lines; nothing written. */
async function refused(text: string) {
  const response = await importGpt(t, 'target-gpt', target, text)
  const problem = expectProblem(response, 422, url, 'validation-failed')
  expect(problem.detail).toMatch(/nothing was imported/)
  expect(await targetRows()).toBe(0)
  return problem.errors as { line: number; record: string; pointer: string; message: string }[]
}

beforeAll(async () => {
  t = await createTestApp({ env: { ARCHIVE_IMPORT_MAX_BYTES: '64kb' } })
  await fillEveryTable(t, 'source-gpt')
  const source = (await createGptWithKey(t.services, 'source-gpt', ['read', 'write', 'admin'])).token
  const typed = { name: 'typed', schema: { type: 'object', required: ['title'], properties: { title: { type: 'string' } } } }
  expect((await injectJson(t.app, 'POST', '/v1/gpts/source-gpt/collections', bearer(source), typed)).statusCode).toBe(201)
  expect((await injectJson(t.app, 'POST', '/v1/gpts/source-gpt/collections/typed/objects', bearer(source), { title: 'ok' })).statusCode).toBe(201)
  archive = await exportGpt(t, 'source-gpt', source)
  target = await emptyGpt(t, 'target-gpt')
}, 180_000)

afterAll(async () => {
  await t?.close()
})

describe('GPT archive import refusals', () => {
  it('refuses an archive cut short (no trailer, or a line cut in two)', async () => {
    const all = archive.split('\n').filter(Boolean)
    const withoutTrailer = `${all.slice(0, -1).join('\n')}\n`
    expect(await refused(withoutTrailer)).toContainEqual(expect.objectContaining({ record: 'end', message: expect.stringMatching(/cut short/) }))
    const cut = withoutTrailer.slice(0, withoutTrailer.length - 20)
    const errors = await refused(cut)
    expect(errors).toContainEqual(expect.objectContaining({ line: all.length - 1, message: 'is not valid JSON' }))
  })

  it('refuses a record changed after export (the checksum)', async () => {
    const changed = edited(archive, (records) => records.map((r) => (r.type === 'memory' ? { ...r, content: 'changed' } : r)), false)
    const errors = await refused(changed)
    expect(errors).toEqual([expect.objectContaining({ line: lines(archive).length, record: 'end', pointer: '/sha256' })])
  })

  it('refuses a missing or unknown header, and a version it does not read', async () => {
    const records = archive.split('\n').slice(1).join('\n')
    expect(await refused(records)).toEqual([expect.objectContaining({ line: 1, record: 'header', pointer: '/format' })])
    const header = lines(archive)[0]!
    const v2 = archive.replace(JSON.stringify(header), JSON.stringify({ ...header, version: 2 }))
    expect(await refused(v2)).toEqual([expect.objectContaining({ line: 1, pointer: '/version', message: expect.stringMatching(/version 2 .* reads version 1/) })])
    expect(await refused('not json\n')).toEqual([expect.objectContaining({ line: 1, message: 'is not valid JSON' })])
  })

  it('lists each bad record by line, type and reason', async () => {
    const bad = edited(archive, (records) =>
      records.map((r) => {
        if (r.type === 'agent' && r.name === 'alice') return { ...r, port: 70000 }
        if (r.type === 'session') return { ...r, character_id: '0190f2a0-0000-7000-8000-000000000000' }
        if (r.type === 'message') return { ...r, surprise: true }
        return r
      }),
    )
    const errors = await refused(bad)
    const at = (type: string) => lines(archive).findIndex((line) => line.type === type) + 1
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ record: 'agent', pointer: '/port' }),
        expect.objectContaining({ line: at('session'), record: 'session', pointer: '/character_id', message: expect.stringMatching(/not earlier in the archive/) }),
        expect.objectContaining({ line: at('message'), record: 'message', pointer: '/surprise' }),
      ]),
    )
  })

  const elsewhere = '0190f2a0-0000-7000-8000-000000000001'
  type Records = Record<string, unknown>[]
  it.each([
    { name: 'a run of a session not in the archive', record: 'extraction_run', pointer: '/session_id', edit: (records: Records) => records.map((r) => (r.type === 'extraction_run' ? { ...r, session_id: elsewhere } : r)) },
    { name: 'a run of an unknown status', record: 'extraction_run', pointer: '/status', edit: (records: Records) => records.map((r) => (r.type === 'extraction_run' ? { ...r, status: 'paused' } : r)) },
    {
      name: 'two runs of one session waiting to start',
      record: 'extraction_run',
      pointer: '/status',
      edit: (records: Records) => records.flatMap((r) => (r.type === 'extraction_run' ? [{ ...r, status: 'queued' }, { ...r, id: elsewhere, status: 'waiting_budget' }] : [r])),
    },
    { name: 'a cursor of a session not in the archive', record: 'extraction_cursor', pointer: '/session_id', edit: (records: Records) => records.map((r) => (r.type === 'extraction_cursor' ? { ...r, session_id: elsewhere } : r)) },
    { name: 'two cursors of one session', record: 'extraction_cursor', pointer: '/session_id', edit: (records: Records) => records.flatMap((r) => (r.type === 'extraction_cursor' ? [r, r] : [r])) },
    { name: 'a character\'s extraction setting out of range', record: 'character', pointer: '/extraction/every_turns', edit: (records: Records) => records.map((r) => (r.type === 'character' ? { ...r, extraction: { auto: true, every_turns: 0 } } : r)) },
  ])('refuses $name', async ({ record, pointer, edit }) => {
    // Listed with what follows from it (a refused character is not there for its sessions to name).
    expect(await refused(edited(archive, edit))).toContainEqual(expect.objectContaining({ record, pointer }))
  })

  it('refuses a document that does not match its collection schema', async () => {
    const bad = edited(archive, (records) => records.map((r) => (r.type === 'document' && r.collection === 'typed' ? { ...r, body: { title: 42 } } : r)))
    const errors = await refused(bad)
    expect(errors).toEqual([expect.objectContaining({ record: 'document', pointer: '/body/title', message: expect.stringMatching(/schema/) })])
  })

  it('refuses records out of dependency order and unknown types', async () => {
    const bad = edited(archive, (records) => [{ type: 'spaceship', id: 1 }, ...records.filter((r) => r.type === 'message'), ...records])
    const errors = await refused(bad)
    expect(errors).toContainEqual(expect.objectContaining({ line: 2, record: 'spaceship', pointer: '/type' }))
    expect(errors).toContainEqual(expect.objectContaining({ record: 'message', pointer: '/session_id' }))
  })

  it('refuses a GPT that already holds data (409), and writes nothing more into it', async () => {
    const response = await importGpt(t, 'source-gpt', (await createGptWithKey(t.services, 'source-gpt', ['admin'])).token, archive)
    expect(expectProblem(response, 409, '/v1/gpts/source-gpt/import', 'conflict').detail).toMatch(/already holds data \(collection, document/)
  })

  it('answers 401, 403 for another GPT\'s key or a key without admin, 415, 413', async () => {
    expectProblem(await t.app.inject({ method: 'POST', url, headers: { 'content-type': NDJSON }, payload: archive }), 401, url)
    const other = await emptyGpt(t, 'other-gpt')
    expectProblem(await importGpt(t, 'target-gpt', other, archive), 403, url)
    const writer = (await createGptWithKey(t.services, 'target-gpt', ['read', 'write'])).token
    expectProblem(await importGpt(t, 'target-gpt', writer, archive), 403, url)
    expectProblem(await t.app.inject({ method: 'GET', url: '/v1/gpts/target-gpt/export', headers: bearer(other) }), 403, '/v1/gpts/target-gpt/export')
    expectProblem(await importGpt(t, 'target-gpt', target, archive, 'text/csv'), 415, url)
    expectProblem(await injectJson(t.app, 'POST', url, bearer(target), { archive: 'as json' }), 415, url)
    const big = `${archive}${' '.repeat(70 * 1024)}`
    expectProblem(await importGpt(t, 'target-gpt', target, big), 413, url, 'payload-too-large')
    // Sent in chunks with no length given: counted while it is spooled.
    const chunked = await t.app.inject({ method: 'POST', url, headers: { ...bearer(target), 'content-type': NDJSON }, payload: Readable.from([archive, ' '.repeat(70 * 1024)]) })
    expectProblem(chunked, 413, url, 'payload-too-large')
    expect(await targetRows()).toBe(0)
  })

  it('lets the operator export and import any GPT under /v1/admin', async () => {
    const admin = bearer(t.adminToken)
    const exported = await t.app.inject({ method: 'GET', url: '/v1/admin/gpts/source-gpt/export?vectors=false', headers: admin })
    expect(exported.statusCode).toBe(200)
    const response = await t.app.inject({ method: 'POST', url: '/v1/admin/gpts/target-gpt/import', headers: { ...admin, 'content-type': NDJSON }, payload: exported.body })
    expect(response.statusCode, response.body).toBe(201)
    expect(await targetRows()).toBeGreaterThan(0)
    // Audited like any request, without the archive itself.
    await t.services.auditWriter!.flush()
    const audited = await t.db.database.db.selectFrom('audit_log').select(['status', 'request']).where('action', '=', 'adminImportGpt').execute()
    expect(audited).toEqual([{ status: 201, request: null }])
    expectProblem(await t.app.inject({ method: 'GET', url: '/v1/admin/gpts/nobody/export', headers: admin }), 404, '/v1/admin/gpts/nobody/export')
  })
})
