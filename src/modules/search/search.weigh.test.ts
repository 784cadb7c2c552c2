import { describe, expect, it } from 'vitest'
import type { SearchHit } from './search.repo.js'
import { weighMemories } from './search.service.js'

const DAY = 86_400_000
const NOW = Date.parse('2026-06-01T00:00:00Z')

function hit(id: string, score: number, details: SearchHit['details'], source: SearchHit['source'] = 'memories', created = NOW): SearchHit {
  return { source, id, score, content: id, metadata: {}, details, created_at: new Date(created) }
}

describe('weighMemories', () => {
  it('relevance: score × (0.5 + importance), so the default 0.5 keeps the score; other sources keep theirs', () => {
    const weighed = weighMemories(
      [hit('plain', 0.8, { importance: 0.5 }), hit('vital', 0.5, { importance: 1 }), hit('minor', 0.9, { importance: 0 }), hit('doc', 0.6, {}, 'objects')],
      'relevance',
      30,
      NOW,
    )
    expect(weighed.map((h) => [h.id, Number(h.score.toFixed(6))])).toEqual([['plain', 0.8], ['vital', 0.75], ['doc', 0.6], ['minor', 0.45]])
  })

  it('recency: also halved every half-life since the last change (updated_at), never raised for a future one', () => {
    const at = (days: number) => new Date(NOW - days * DAY).toISOString()
    const weighed = weighMemories(
      [hit('new', 0.5, { importance: 0.5, updated_at: at(0) }), hit('month', 0.8, { importance: 0.5, updated_at: at(30) }), hit('two', 1, { importance: 0.5, updated_at: at(60) }), hit('future', 0.3, { importance: 0.5, updated_at: at(-5) })],
      'recency',
      30,
      NOW,
    )
    expect(weighed.map((h) => [h.id, Number(h.score.toFixed(6))])).toEqual([['new', 0.5], ['month', 0.4], ['future', 0.3], ['two', 0.25]])
  })

  it('without updated_at, the age counts from created_at', () => {
    const [weighed] = weighMemories([hit('old', 1, { importance: 0.5 }, 'memories', NOW - 10 * DAY)], 'recency', 10, NOW)
    expect(weighed!.score).toBeCloseTo(0.5, 10)
  })
})
