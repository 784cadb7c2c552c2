import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from './config.js'

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env)
  } catch (error) {
    if (error instanceof ConfigError) return error.problems
    throw error
  }
  return []
}

describe('HNSW and PGlite memory settings', () => {
  it("defaults to pgvector's own build parameters, ef_search 100 and a 16 MB PGlite buffer pool", () => {
    const config = loadConfig({})
    expect(config.hnsw).toEqual({ m: 16, efConstruction: 64, efSearch: 100 })
    expect(config.pgliteSharedBuffersMb).toBe(16)
  })

  it('takes values in range', () => {
    const config = loadConfig({ HNSW_M: '32', HNSW_EF_CONSTRUCTION: '200', HNSW_EF_SEARCH: '400', PGLITE_SHARED_BUFFERS_MB: '128' })
    expect(config.hnsw).toEqual({ m: 32, efConstruction: 200, efSearch: 400 })
    expect(config.pgliteSharedBuffersMb).toBe(128)
  })

  it.each([
    [{ HNSW_M: '1' }, /HNSW_M="1": expected a whole number from 2 to 100/],
    [{ HNSW_M: 'many' }, /HNSW_M="many"/],
    [{ HNSW_EF_SEARCH: '0' }, /HNSW_EF_SEARCH="0": expected a whole number from 1 to 1000/],
    [{ HNSW_EF_CONSTRUCTION: '5000' }, /HNSW_EF_CONSTRUCTION="5000"/],
    [{ HNSW_M: '40', HNSW_EF_CONSTRUCTION: '64' }, /HNSW_EF_CONSTRUCTION=64: must be at least 2 × HNSW_M \(80\)/],
    [{ PGLITE_SHARED_BUFFERS_MB: '0' }, /PGLITE_SHARED_BUFFERS_MB="0": expected a whole number from 1 to 4096/],
  ])('refuses %j with a message naming the setting', (env, message) => {
    expect(problems(env).join('\n')).toMatch(message)
  })
})
