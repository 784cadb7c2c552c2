import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { backupFileName, type BackupManifest } from '../src/modules/backups/backups.files.js'
import type { Overview } from '../src/modules/overview/overview.service.js'
import { signup, type TestAccount } from './helpers/accounts.js'
import { expectProblem } from './helpers/problem.js'
import { bearer, createGptWithKey, createTestApp, injectJson, type TestApp } from './helpers/test-app.js'

// The console overview's data: each principal sees its own GPTs with their counts; the operator also
// this process's last hour of requests, its job runs and the newest backup.

let t: TestApp
let backupDir: string
let alice: TestAccount
let bob: TestAccount
let aliceKey: string

beforeAll(async () => {
  backupDir = mkdtempSync(join(tmpdir(), 'agentstore-overview-'))
  t = await createTestApp({
    env: { BACKUP_DIR: backupDir },
    extend: (app) => app.get('/overview-boom', { config: { access: 'public' }, schema: { hide: true } }, async () => { throw new Error('boom') }),
  })
  alice = await signup(t.app)
  bob = await signup(t.app)
  for (const [owner, id] of [[alice, 'ov-alice'], [bob, 'ov-bob']] as const) {
    expect((await injectJson(t.app, 'POST', '/v1/gpts', bearer(owner.key), { id, name: id })).statusCode).toBe(201)
  }
  aliceKey = (await createGptWithKey(t.services, 'ov-alice', ['read', 'write', 'admin'])).token
  for (const content of ['one', 'two']) {
    expect((await injectJson(t.app, 'POST', '/v1/gpts/ov-alice/memories', bearer(aliceKey), { content })).statusCode).toBe(201)
  }
  expect((await injectJson(t.app, 'POST', '/v1/gpts/ov-alice/collections', bearer(aliceKey), { name: 'notes' })).statusCode).toBe(201)
  expect((await injectJson(t.app, 'POST', '/v1/gpts/ov-alice/collections/notes/objects', bearer(aliceKey), { a: 1 })).statusCode).toBe(201)
}, 60_000)

afterAll(async () => {
  await t?.close()
  rmSync(backupDir, { recursive: true, force: true })
})

const get = async (url: string, token: string) => {
  const response = await t.app.inject({ url, headers: bearer(token) })
  expect(response.statusCode, response.body).toBe(200)
  return response.json<Overview>()
}
const total = (overview: Overview, field: 'requests' | 'errors') => overview.server!.minutes.reduce((sum, minute) => sum + minute[field], 0)

describe('GET /v1/overview and /v1/admin/overview', () => {
  it('refuses a caller without credentials (401), and a GPT key on the account route and the admin route', async () => {
    for (const url of ['/v1/overview', '/v1/admin/overview']) {
      expectProblem(await t.app.inject({ url }), 401, url)
      expectProblem(await t.app.inject({ url, headers: bearer(aliceKey) }), 401, url)
    }
    // An account is not the operator.
    expectProblem(await t.app.inject({ url: '/v1/admin/overview', headers: bearer(alice.key) }), 401, '/v1/admin/overview')
  })

  it('an account sees only its own GPTs with their counts, and no server data', async () => {
    const overview = await get('/v1/overview', alice.key)
    expect(overview.gpts).toEqual([{ id: 'ov-alice', name: 'ov-alice', documents: 1, memories: 2, sessions: 0, agents: 0, unread_mail: 0 }])
    expect(overview).toMatchObject({ gpts_truncated: false, server: null })
    expect(overview.embedding_backlog).toEqual({ memories: expect.any(Number), documents: expect.any(Number), messages: 0 })
    expect((await get('/v1/overview', bob.key)).gpts.map((gpt) => gpt.id)).toEqual(['ov-bob'])
  })

  it('the operator sees every GPT, the requests and 5xx errors of this process a minute, and the newest backup', async () => {
    const before = await get('/v1/admin/overview', t.adminToken)
    expect(before.gpts.map((gpt) => gpt.id).sort()).toEqual(['ov-alice', 'ov-bob'])
    expect(before.server!.minutes).toHaveLength(60)
    expect(before.server!.last_backup).toBeNull()
    // No queue in this app: no job is counted (the runs themselves: src/platform/metrics.minutes.test.ts).
    expect(before.server!.jobs).toEqual([])

    for (let i = 0; i < 5; i++) expect((await t.app.inject({ url: '/v1/gpts/ov-alice/memories', headers: bearer(aliceKey) })).statusCode).toBe(200)
    expect((await t.app.inject({ url: '/overview-boom' })).statusCode).toBe(500)
    const at = new Date(Date.now() - 3_600_000)
    const file = backupFileName('pglite', at)
    const manifest: BackupManifest = {
      format: 'agentstore-backup/1', file, kind: 'pglite', started_at: at.toISOString(), finished_at: at.toISOString(),
      duration_ms: 1234, size_bytes: 5678, sha256: '0'.repeat(64), schema_version: 'm', migrations: ['m'], agentstore_version: '0',
    }
    writeFileSync(join(backupDir, file), 'x')
    writeFileSync(join(backupDir, `${file}.json`), JSON.stringify(manifest))

    const after = await get('/v1/admin/overview', t.adminToken)
    // The five reads, the failure and the first overview itself (counted once answered).
    expect(total(after, 'requests') - total(before, 'requests')).toBe(7)
    expect(total(after, 'errors') - total(before, 'errors')).toBe(1)
    expect(after.server!.minutes.some((minute) => minute.p95_ms !== null && minute.p95_ms > 0)).toBe(true)
    expect(after.server!.last_backup).toEqual({ kind: 'pglite', finished_at: at.toISOString(), duration_ms: 1234, size_bytes: 5678 })
  })

  it('does not count the console: its proxied call is counted once, as the API request it makes', async () => {
    const minutes = t.services.overview.minutes
    const sum = () => minutes.samples().reduce((n, minute) => n + minute.requests, 0)
    const start = sum()
    expect((await t.app.inject({ url: '/admin/api/session' })).statusCode).toBe(401)
    expect(sum()).toBe(start)
  })
})
