import { describe, expect, it } from 'vitest'
import type { Kysely } from 'kysely'
import type { Tables } from '../../platform/db/tables.js'
import { fuseHybrid, keywordQuery, LEXICAL_WEIGHT, queryTerms, termCoverage, termsHeld } from './search.ranking.js'
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
    expect(termCoverage(['green', 'tea'], 'Greenish teapot')).toBe(0.5)
    expect(termCoverage(['green', 'tea'], 'green tea daily')).toBe(1)
    expect(termCoverage([], 'anything')).toBe(0)
  })

  it('names the terms a text holds, in the order of the query', () => {
    expect(termsHeld(['green', 'tea'], 'Greenish teapot')).toEqual(['green'])
    expect(termsHeld(['tea', 'green'], 'green tea daily')).toEqual(['tea', 'green'])
    expect(termsHeld(['coffee'], 'green tea')).toEqual([])
  })

  it.each([
    [['cat'], 'Allergic to cats', ['cat']],
    [['allergies'], 'A peanut allergy', ['allergies']],
    [['running', 'shoes'], 'Runs in new shoe', ['running', 'shoes']],
    [['cat'], 'Reads the catalogue', []],
    [['tea'], 'A teapot', []],
  ])('also holds %j in %j by the same stem: %j', (terms, text, held) => {
    expect(termsHeld(terms, text)).toEqual(held)
  })
})

describe('fuseHybrid', () => {
  const hit = (id: string, score: number, content: string) => ({ id, score, content })
  const key = (item: { id: string }) => item.id

  it('adds half the squared share of query words to the cosine', () => {
    const fused = fuseHybrid([hit('a', 0.6, 'green tea'), hit('b', 0.5, 'black coffee')], [], ['green', 'tea'], key)
    expect(fused.map((entry) => [entry.item.id, entry.score])).toEqual([
      ['a', 0.6 + LEXICAL_WEIGHT],
      ['b', 0.5],
    ])
  })

  it('lifts a keyword hit on every word above a closer meaning without them', () => {
    const semantic = [hit('near', 0.7, 'the nearest in meaning'), hit('far', 0.3, 'somewhat related')]
    const fused = fuseHybrid(semantic, [hit('code', 2, 'firmware E-217 update')], ['e', '217', 'firmware'], key)
    expect(fused.map((entry) => entry.item.id)).toEqual(['code', 'near', 'far'])
    expect(fused[0]!.score).toBeCloseTo(0.3 + LEXICAL_WEIGHT)
  })

  it('lets one shared word of a paraphrase count little', () => {
    const semantic = [hit('meaning', 0.62, 'takes metformin daily'), hit('stray', 0.55, 'sugar in the coffee')]
    const fused = fuseHybrid(semantic, [hit('stray', 1, 'sugar in the coffee')], ['blood', 'sugar', 'medication'], key)
    expect(fused.map((entry) => entry.item.id)).toEqual(['meaning', 'stray'])
  })

  it('keeps one entry per key, with the semantic item', () => {
    const fused = fuseHybrid([hit('a', 0.5, 'x')], [hit('a', 3, 'x'), hit('b', 1, 'y')], ['y'], key)
    expect(fused.map((entry) => [entry.item.id, entry.item.score])).toEqual([
      ['b', 1],
      ['a', 0.5],
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
