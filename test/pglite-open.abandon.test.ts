import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { readLock } from '../src/platform/db/data-dir-lock.js'
import { startEmbedded } from '../src/platform/db/pglite-open.js'
import { copyMigratedDataDir } from './helpers/test-database.js'

describe('an embedded open that nothing will use', () => {
  let dir = ''
  afterEach(() => rm(join(dir, '..'), { recursive: true, force: true }))

  it('closes the instance and unlocks the data directory, so another open can take it', async () => {
    dir = join(await mkdtemp(join(tmpdir(), 'agentstore-abandon-')), 'data')
    // A data directory that exists opens without initdb, which is not what this is about.
    await copyMigratedDataDir(dir)
    const first = startEmbedded(dir, 8)
    expect(readLock(dir)?.pid).toBe(process.pid)
    const instance = await first.pglite
    await first.abandon()
    expect(instance.closed).toBe(true)
    expect(readLock(dir)).toBeNull()
    const second = startEmbedded(dir, 8)
    const { rows } = await (await second.pglite).query<{ one: number }>('select 1 as one')
    expect(rows).toEqual([{ one: 1 }])
    await second.abandon()
  })

  it('unlocks the data directory when the open itself failed', async () => {
    dir = join(await mkdtemp(join(tmpdir(), 'agentstore-abandon-')), 'data')
    await copyMigratedDataDir(dir)
    // Postgres refuses a buffer pool of 0 MB: the open fails after the lock was taken.
    const opening = startEmbedded(dir, 0)
    expect(readLock(dir)?.pid).toBe(process.pid)
    await expect(opening.pglite).rejects.toThrow()
    await opening.abandon()
    expect(readLock(dir)).toBeNull()
  })
})
