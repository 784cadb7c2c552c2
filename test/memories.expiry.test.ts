import { describe, expect, it } from 'vitest'
import { expectProblem } from './helpers/problem.js'
import type { MemoryHistoryView, MemoryView } from '../src/modules/memories/memories.schemas.js'
import { MEMORIES, BATCH, t, call, write, list, search, pointers, useMemoriesApi } from './helpers/memories-api.js'

useMemoriesApi()

const past = () => new Date(Date.now() - 60_000).toISOString()
const history = async (id: string) => {
  const response = await call('GET', `/v1/memories/${id}/history`)
  expect(response.statusCode, response.body).toBe(200)
  return response.json<MemoryHistoryView>().history
}

describe('expiry', () => {
  it('ttl_seconds sets expires_at to now plus that many seconds; expires_at is taken as given', async () => {
    const before = Date.now()
    const withTtl = await write({ content: 'Parked on level 3 today.', ttl_seconds: 3600 })
    const after = Date.now()
    const expires = Date.parse(withTtl.expires_at!)
    expect(expires).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 3600_000 - 1000)
    expect(expires).toBeLessThanOrEqual(after + 3600_000)
    const at = '2099-01-02T03:04:05.678Z'
    expect((await write({ content: 'Passport valid until 2099.', expires_at: at })).expires_at).toBe(at)
    expect((await write({ content: 'Never forgets this one.' })).expires_at).toBeNull()
  })

  it.each([
    { name: 'both expires_at and ttl_seconds', body: { expires_at: '2099-01-01T00:00:00Z', ttl_seconds: 60 }, pointer: '/ttl_seconds' },
    { name: 'ttl_seconds 0', body: { ttl_seconds: 0 }, pointer: '/ttl_seconds' },
    { name: 'a fractional ttl_seconds', body: { ttl_seconds: 1.5 }, pointer: '/ttl_seconds' },
    { name: 'ttl_seconds past ten years', body: { ttl_seconds: 10 * 365 * 86_400 + 1 }, pointer: '/ttl_seconds' },
    { name: 'expires_at that is no date', body: { expires_at: 'tomorrow' }, pointer: '/expires_at' },
  ])('refuses $name with 422', async ({ body, pointer }) => {
    const response = await call('POST', MEMORIES, { content: 'Refused expiry.', ...body })
    expectProblem(response, 422, MEMORIES, 'validation-failed')
    expect(pointers(response)).toContain(pointer)
  })

  it('an expired memory vanishes at once from reads, lists, search and PATCH, and a batch item says which', async () => {
    const gone = await write({ content: 'Temporary door code is 4711 zebra.', user_id: 'exp', expires_at: past() })
    const kept = await write({ content: 'Permanent door code is zebra crossing.', user_id: 'exp' })
    expectProblem(await call('GET', `/v1/memories/${gone.id}`), 404, `/v1/memories/${gone.id}`, 'not-found')
    expectProblem(await call('PATCH', `/v1/memories/${gone.id}`, { pinned: true }), 404, `/v1/memories/${gone.id}`, 'not-found')
    expect((await list('user_id=exp')).memories.map((m) => m.id)).toEqual([kept.id])
    for (const mode of ['keyword', 'semantic', 'hybrid']) {
      const found = (await search({ query: 'door code zebra', mode, filters: { user_id: 'exp' } })).map((r) => r.id)
      expect(found, mode).toContain(kept.id)
      expect(found, mode).not.toContain(gone.id)
    }
    const response = await call('POST', BATCH, { memories: [{ content: 'Batch expiry a.' }, { content: 'Batch expiry b.', expires_at: 'soon' }] })
    expect(pointers(response)).toContain('/memories/1/expires_at')
  })

  it('PATCH sets, moves (ttl_seconds) and clears expires_at', async () => {
    const memory = await write({ content: 'Gym membership renews in spring.' })
    const url = `/v1/memories/${memory.id}`
    const set = await call('PATCH', url, { expires_at: '2098-05-06T07:08:09.000Z' })
    expect(set.json<MemoryView>().expires_at).toBe('2098-05-06T07:08:09.000Z')
    const moved = await call('PATCH', url, { ttl_seconds: 60 })
    expect(Date.parse(moved.json<MemoryView>().expires_at!)).toBeLessThan(Date.parse('2098-01-01T00:00:00Z'))
    const cleared = await call('PATCH', url, { expires_at: null })
    expect(cleared.json<MemoryView>().expires_at).toBeNull()
    const both = await call('PATCH', url, { expires_at: null, ttl_seconds: 5 })
    expectProblem(both, 422, url, 'validation-failed')
  })

  it('an entity upsert onto an expired memory brings it back with the new content and expiry', async () => {
    const first = await write({ content: 'Current hotel: Grand Plaza.', entity_type: 'trip', entity_id: 'hotel', expires_at: past() })
    expect((await list('entity_type=trip')).memories).toEqual([])
    const again = await write({ content: 'Current hotel: Seaside Inn.', entity_type: 'trip', entity_id: 'hotel' }, 200)
    expect(again.id).toBe(first.id)
    expect(again.expires_at).toBeNull()
    expect((await list('entity_type=trip')).memories.map((m) => m.content)).toEqual(['Current hotel: Seaside Inn.'])
  })

  it('the memories.purge-expired job deletes expired memories with their vectors and records an expire entry', async () => {
    const gone = await write({ content: 'One-time login link for the portal.', user_id: 'purge', expires_at: past() })
    const live = await write({ content: 'Favourite portal theme is dark.', user_id: 'purge', ttl_seconds: 3600 })
    const counts = await t.services.retention.purgeExpiredMemories()
    expect(counts.memories).toBeGreaterThanOrEqual(1)
    const db = t.db.database.db
    expect(await db.selectFrom('memories').select('id').where('id', '=', gone.id).execute()).toEqual([])
    expect(await db.selectFrom('embeddings').select('id').where('memory_id', '=', gone.id).execute()).toEqual([])
    expect((await list('user_id=purge')).memories.map((m) => m.id)).toEqual([live.id])
    const entries = await history(gone.id)
    expect(entries.map((entry) => entry.action)).toEqual(['create', 'expire'])
    expect(entries[1]).toMatchObject({ actor: { kind: 'job', id: 'memories.purge-expired' }, new: null, old: { content: 'One-time login link for the portal.' } })
    // A second run finds nothing more of it.
    await t.services.retention.purgeExpiredMemories()
    expect((await history(gone.id)).map((entry) => entry.action)).toEqual(['create', 'expire'])
  })

  it('deleting an expired memory, before or after the purge, forgets what its history says; purge=true removes it', async () => {
    const hidden = await write({ content: 'Expired secret: safe combination 3-1-4.', expires_at: past() })
    const url = `/v1/memories/${hidden.id}`
    expect((await call('DELETE', url)).statusCode).toBe(204)
    expect((await history(hidden.id)).map((entry) => [entry.action, entry.old, entry.new])).toEqual([['create', null, null], ['delete', null, null]])
    expectProblem(await call('DELETE', url), 404, url, 'not-found')

    const purged = await write({ content: 'Expired secret: locker code 2718.', expires_at: past() })
    await t.services.retention.purgeExpiredMemories()
    expect(JSON.stringify(await history(purged.id))).toContain('locker code')
    expect((await call('DELETE', `/v1/memories/${purged.id}`)).statusCode).toBe(204)
    expect(JSON.stringify(await history(purged.id))).not.toContain('locker code')
    expect((await call('DELETE', `/v1/memories/${purged.id}?purge=true`)).statusCode).toBe(204)
    expectProblem(await call('GET', `/v1/memories/${purged.id}/history`), 404, `/v1/memories/${purged.id}/history`, 'not-found')
  })
})
