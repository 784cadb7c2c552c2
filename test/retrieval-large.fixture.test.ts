import { describe, expect, it } from 'vitest'
import { checkSet, describeSet, loadSet, type RetrievalSet } from '../bench/retrieval.set.js'

/** The retrieval bench's large labelled set is what its README says, and the check that guards it catches mistakes. */
describe('the large retrieval set', () => {
  const set = loadSet('large')

  it('has the counts its README states', () => {
    expect(describeSet(set)).toEqual({
      memories: 1028,
      users: 12,
      'memories with valid time': 99,
      queries: 207,
      'lexical queries': 62,
      'paraphrase queries': 49,
      'mixed queries': 60,
      'temporal queries': 36,
    })
  })

  it('is consistent: the check finds nothing', () => {
    expect(checkSet(set)).toEqual([])
  })

  it('the check names a repeated id, an unknown relevant id and an answer not valid at as_of', () => {
    const temporal = set.queries.find((query) => query.kind === 'temporal')!
    const later = set.memories.find((memory) => memory.user_id === temporal.user_id && memory.valid_from && temporal.as_of && memory.valid_from > temporal.as_of)!
    const broken: RetrievalSet = {
      ...set,
      memories: [...set.memories, set.memories[0]!],
      queries: [{ ...set.queries[0]!, relevant: ['Z99'] }, { ...temporal, relevant: [later.id] }],
    }
    expect(checkSet(broken)).toEqual([
      `memory ${set.memories[0]!.id} twice`,
      `query ${set.queries[0]!.id}: relevant Z99 is no memory`,
      `query ${temporal.id}: ${later.id} was not valid at ${temporal.as_of}`,
    ])
  })
})
