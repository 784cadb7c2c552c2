import { fuseHybrid, queryTerms, termCoverage } from '../src/modules/search/search.ranking.js'
import { bm25, corpusOf, idfCoverage, prefixCoverage, proximity, type Corpus } from './retrieval.lexical.js'
import { scoreRanking, summarise, type SetQuery, type Summary } from './retrieval.set.js'

/**
 * Alternative hybrid fusions, replayed offline over the lists the service fuses (semantic and
 * keyword, 30 deep each, as the API returned them). `service` is the function the service runs, so
 * its row must match the bench's hybrid row; `rrf k=60 coverage²` is the fusion it ran before; the
 * ceiling row puts every relevant candidate first (what no fusion of these lists can beat). Each variant is scored on two halves of the
 * queries split by a hash of their id: choose on the dev half, check on the test half, keep what holds on both (and on the other set).
 */

interface Hit {
  id: string
  score: number
  content: string
}

export interface Candidates {
  query: SetQuery
  semantic: Hit[]
  keyword: Hit[]
}

export interface FusionRow {
  variant: string
  dev: Summary
  test: Summary
  all: Summary
}

type Fuse = (c: Candidates, terms: string[], corpus: Corpus) => string[]

const byScore = (scores: Map<string, number>) => [...scores.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([id]) => id)

/** Min-max to [0, 1] within the list (a list of one scores 1). */
function minMax(hits: Hit[]): Map<string, number> {
  const values = hits.map((h) => h.score)
  const low = Math.min(...values)
  const span = Math.max(...values) - low
  return new Map(hits.map((h) => [h.id, span > 0 ? (h.score - low) / span : 1]))
}

/** Standard scores within the list. */
function zScore(hits: Hit[]): Map<string, number> {
  const mean = hits.reduce((sum, h) => sum + h.score, 0) / Math.max(1, hits.length)
  const sd = Math.sqrt(hits.reduce((sum, h) => sum + (h.score - mean) ** 2, 0) / Math.max(1, hits.length)) || 1
  return new Map(hits.map((h) => [h.id, (h.score - mean) / sd]))
}

const union = (c: Candidates) => [...new Map([...c.semantic, ...c.keyword].map((h) => [h.id, h])).values()]

/** Reciprocal rank fusion (Cormack et al. 2009): an item scores the sum over lists of weight / (k + rank). */
function reciprocalRankFusion(lists: Hit[][], k: number, weightOf: (item: Hit, list: number) => number): Hit[] {
  const scores = new Map<string, number>()
  const items = new Map<string, Hit>()
  for (const [listIndex, list] of lists.entries()) {
    list.forEach((item, index) => {
      if (!items.has(item.id)) items.set(item.id, item)
      scores.set(item.id, (scores.get(item.id) ?? 0) + weightOf(item, listIndex) / (k + index + 1))
    })
  }
  return [...items.values()].sort((a, b) => scores.get(b.id)! - scores.get(a.id)!)
}

function rrf(k: number, weighted: boolean): Fuse {
  return (c, terms) =>
    reciprocalRankFusion([c.semantic, c.keyword], k, (h, list) => (list === 0 || !weighted ? 1 : termCoverage(terms, h.content) ** 2)).map((h) => h.id)
}

/** Normalised scores added, the keyword one weighted by `w` (and by coverage² when asked); a missing list adds its floor. */
function scoreFusion(normalise: (hits: Hit[]) => Map<string, number>, w: number, coverage: boolean): Fuse {
  return (c, terms) => {
    const semantic = normalise(c.semantic)
    const keyword = normalise(c.keyword)
    const floor = (m: Map<string, number>) => (m.size > 0 ? Math.min(...m.values()) : 0)
    const [sFloor, kFloor] = [floor(semantic), floor(keyword)]
    const scores = new Map(
      union(c).map((h) => {
        const lexical = (keyword.get(h.id) ?? kFloor) * (coverage ? termCoverage(terms, h.content) ** 2 : 1)
        return [h.id, (semantic.get(h.id) ?? sFloor) + w * lexical]
      }),
    )
    return byScore(scores)
  }
}

/** Cosine plus `w` times the share of the query's words the text holds (no keyword rank at all). */
function cosinePlusCoverage(w: number, power: number): Fuse {
  return (c, terms) => {
    const cosine = new Map(c.semantic.map((h) => [h.id, h.score]))
    const floor = c.semantic.length > 0 ? Math.min(...cosine.values()) : 0
    return byScore(new Map(union(c).map((h) => [h.id, (cosine.get(h.id) ?? floor) + w * termCoverage(terms, h.content) ** power])))
  }
}

/** Cosine plus `w` times a lexical score of the item in [0, 1] (a missing cosine is the list's floor). */
function cosinePlus(w: number, lexical: (c: Candidates, terms: string[], corpus: Corpus, item: Hit, all: Hit[]) => number): Fuse {
  return (c, terms, corpus) => {
    const cosine = new Map(c.semantic.map((h) => [h.id, h.score]))
    const floor = c.semantic.length > 0 ? Math.min(...cosine.values()) : 0
    const all = union(c)
    return byScore(new Map(all.map((h) => [h.id, (cosine.get(h.id) ?? floor) + w * lexical(c, terms, corpus, h, all)])))
  }
}

/** The candidates' own BM25 list (rescored from the text), best first; items holding no term left out. */
function bm25List(c: Candidates, terms: string[], corpus: Corpus): Hit[] {
  return union(c)
    .map((h) => ({ ...h, score: bm25(corpus, terms, h.content) }))
    .filter((h) => h.score > 0)
    .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1))
}

const localCorpus = (all: Hit[]) => corpusOf(all.map((h) => h.content))

const idfCov = (p: number) => (_c: Candidates, terms: string[], corpus: Corpus, h: Hit) => idfCoverage(corpus, terms, h.content) ** p
const bm25Share = (c: Candidates, terms: string[], corpus: Corpus, h: Hit, all: Hit[]) => {
  const best = Math.max(...all.map((x) => bm25(corpus, terms, x.content)))
  return best > 0 ? bm25(corpus, terms, h.content) / best : 0
}

export const LEXICAL_VARIANTS: Record<string, Fuse> = {
  ...Object.fromEntries([0.5, 0.75, 1].map((w) => [`cos+${w}·idfcov (GPT idf)`, cosinePlus(w, idfCov(1))])),
  ...Object.fromEntries([0.5, 0.75, 1].map((w) => [`cos+${w}·idfcov² (GPT idf)`, cosinePlus(w, idfCov(2))])),
  ...Object.fromEntries([0.5, 0.75].map((w) => [`cos+${w}·idfcov² (candidates' idf)`, cosinePlus(w, (c, terms, _corpus, h, all) => idfCoverage(localCorpus(all), terms, h.content) ** 2)])),
  ...Object.fromEntries([0.25, 0.5].map((w) => [`cos+${w}·bm25/max`, cosinePlus(w, bm25Share)])),
  ...Object.fromEntries([0.25, 0.5].map((w) => [`cos+${w}·(bm25/max)²`, cosinePlus(w, (c, t, corpus, h, all) => bm25Share(c, t, corpus, h, all) ** 2)])),
  ...Object.fromEntries([10, 30, 60].map((k) => [`rrf k=${k} semantic+bm25`, (c: Candidates, terms: string[], corpus: Corpus) => reciprocalRankFusion([c.semantic, bm25List(c, terms, corpus)], k, () => 1).map((h) => h.id)])),
  ...Object.fromEntries([0.5, 1].map((w) => [`minmax cos+${w}·minmax bm25`, (c: Candidates, terms: string[], corpus: Corpus) => scoreFusion(minMax, w, false)({ ...c, keyword: bm25List(c, terms, corpus) }, terms, corpus)])),
  ...Object.fromEntries([0.5, 1].map((w) => [`z cos+${w}·z bm25`, (c: Candidates, terms: string[], corpus: Corpus) => scoreFusion(zScore, w, false)({ ...c, keyword: bm25List(c, terms, corpus) }, terms, corpus)])),
  ...Object.fromEntries([0.1, 0.2].map((w) => [`service+${w}·proximity`, cosinePlus(1, (c, terms, _corpus, h) => 0.5 * termCoverage(terms, h.content) ** 2 + w * proximity(terms, h.content))])),
  ...Object.fromEntries([0.1, 0.2].map((w) => [`cos+0.75·idfcov²+${w}·proximity`, cosinePlus(1, (c, terms, corpus, h) => 0.75 * idfCoverage(corpus, terms, h.content) ** 2 + w * proximity(terms, h.content))])),
}

export const VARIANTS: Record<string, Fuse> = {
  service: (c, terms) => fuseHybrid(c.semantic, c.keyword, terms, (h) => h.id).map((e) => e.item.id),
  'ceiling: relevant candidates first': (c) => {
    const ids = union(c).map((h) => h.id)
    return [...ids.filter((id) => c.query.relevant.includes(id)), ...ids.filter((id) => !c.query.relevant.includes(id))]
  },
  'semantic only': (c) => c.semantic.map((h) => h.id),
  'service before stems (prefixes only)': cosinePlus(0.5, (_c, terms, _corpus, h) => prefixCoverage(terms, h.content) ** 2),
  'rrf k=60 unweighted': rrf(60, false),
  ...Object.fromEntries([10, 30, 60].map((k) => [`rrf k=${k} coverage²`, rrf(k, true)])),
  ...Object.fromEntries([0.35, 0.75].map((w) => [`minmax w=${w}`, scoreFusion(minMax, w, false)])),
  ...Object.fromEntries([0.35, 0.75].map((w) => [`minmax w=${w} coverage²`, scoreFusion(minMax, w, true)])),
  ...Object.fromEntries([0.35, 0.5].map((w) => [`z w=${w} coverage²`, scoreFusion(zScore, w, true)])),
  ...Object.fromEntries([0.2, 0.4, 0.5, 0.6].map((w) => [`cos+${w}·coverage`, cosinePlusCoverage(w, 1)])),
  ...Object.fromEntries([0.2, 0.3, 0.4, 0.5, 0.6, 0.75, 1].map((w) => [`cos+${w}·coverage²`, cosinePlusCoverage(w, 2)])),
  ...Object.fromEntries([0.5, 1].map((w) => [`cos+${w}·coverage³`, cosinePlusCoverage(w, 3)])),
  ...LEXICAL_VARIANTS,
}

/** The half a query falls in, by a fixed hash of its id (FNV-1a): 0 the dev half (choose there), 1 the test half (report there). */
export function half(id: string): 0 | 1 {
  let hash = 0x811c9dc5
  for (const char of id) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0
  return (hash & 1) as 0 | 1
}

/** `corpus`: the texts the GPT holds (for document frequencies). */
export function exploreFusion(candidates: Candidates[], texts: string[]): FusionRow[] {
  const corpus = corpusOf(texts)
  return Object.entries(VARIANTS).map(([variant, fuse]) => {
    const scores = candidates.map((c) => ({ half: half(c.query.id), score: scoreRanking(fuse(c, queryTerms(c.query.query), corpus), c.query.relevant) }))
    return {
      variant,
      dev: summarise(scores.filter((s) => s.half === 0).map((s) => s.score)),
      test: summarise(scores.filter((s) => s.half === 1).map((s) => s.score)),
      all: summarise(scores.map((s) => s.score)),
    }
  })
}

export function printFusion(rows: FusionRow[]): void {
  const cellsOf = (name: string, summary: Summary) => ({ [`${name} MRR`]: summary['MRR@5'], [`${name} hit@1`]: summary['hit@1'], [`${name} R@5`]: summary['recall@5'] })
  console.table(rows.map((row) => ({ variant: row.variant, ...cellsOf('dev', row.dev), ...cellsOf('test', row.test), ...cellsOf('all', row.all) })))
}
