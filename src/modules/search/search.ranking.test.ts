import { describe, expect, it } from 'vitest'
import type { Kysely } from 'kysely'
import type { Tables } from '../../platform/db/tables.js'
import { keywordQuery, queryTerms, reciprocalRankFusion, termCoverage, termsHeld } from './search.ranking.js'
import { VectorStore } from './vector-store.js'

describe('keywordQuery', () => {
  it.each([
    ['What does she eat for breakfast?', "'eat' | 'breakfast':*"],
    ['E-217 firmware', "'e' | '217' | 'firmware':*"],
    ['the and of', "'the' | 'and' | 'of'"],
    ['Café NOIR', "'café':* | 'noir':*"],
    ['  ?!  ', null],
  ])('%j → %j', (query, expected) => {
    expect(keywordQuery(query)).toBe(expected)
  })

  it('keeps at most 32 distinct terms', () => {
    const words = Array.from({ length: 40 }, (_, i) => `word${i}`)
    expect(queryTerms([...words, ...words].join(' '))).toHaveLength(32)
  })
})

describe('termCoverage', () => {
  it('counts the share of query terms a text holds, longer terms as prefixes', () => {
    expect(termCoverage(['green', 'tea'], 'Greenish teas')).toBe(0.5)
    expect(termCoverage(['green', 'tea'], 'green tea daily')).toBe(1)
    expect(termCoverage([], 'anything')).toBe(0)
  })

  it('names the terms a text holds, in the order of the query', () => {
    expect(termsHeld(['green', 'tea'], 'Greenish teas')).toEqual(['green'])
    expect(termsHeld(['tea', 'green'], 'green tea daily')).toEqual(['tea', 'green'])
    expect(termsHeld(['coffee'], 'green tea')).toEqual([])
  })
})

describe('reciprocalRankFusion', () => {
  const key = (item: string) => item
  it('ranks an item found by both lists above items found by one', () => {
    const fused = reciprocalRankFusion([['a', 'b', 'c'], ['c', 'd']], key)
    expect(fused.map((entry) => entry.item)).toEqual(['c', 'a', 'b', 'd'])
    expect(fused[0]!.score).toBeCloseTo(1 / 63 + 1 / 61)
  })

  it('weighs a list item by the weight function', () => {
    const fused = reciprocalRankFusion([['a'], ['b']], key, 60, (_item, list) => (list === 1 ? 0.25 : 1))
    expect(fused.map((entry) => [entry.item, entry.score])).toEqual([
      ['a', 1 / 61],
      ['b', 0.25 / 61],
    ])
  })
})

describe('VectorStore mode', () => {
  const db = {} as Kysely<Tables>
  it('indexes with pgvector up to 2,000 dimensions, scans exactly otherwise, and scans exactly until the index is built', () => {
    expect(new VectorStore(db, 'pgvector', 512, 'm').indexable).toBe(true)
    expect(new VectorStore(db, 'pgvector', 512, 'm', { forceExact: true }).indexable).toBe(false)
    expect(new VectorStore(db, 'pgvector', 3072, 'm').indexable).toBe(false)
    expect(new VectorStore(db, 'exact', 512, 'm').indexable).toBe(false)
    expect(new VectorStore(db, 'pgvector', 512, 'm').mode).toBe('exact')
    expect(new VectorStore(db, 'pgvector', 512, 'm').state).toBe('exact')
  })

  it('refuses an impossible dimension and a vector of another one', async () => {
    expect(() => new VectorStore(db, 'exact', 0, 'm')).toThrow('invalid vector dimension')
    expect(() => new VectorStore(db, 'exact', 3, 'm').distance([1, 0])).toThrow('vector has 2 dimensions; the store holds 3')
  })
})
