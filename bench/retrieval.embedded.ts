import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fuseHybrid, queryTerms, termCoverage } from '../src/modules/search/search.ranking.js'
import { LocalEmbeddingsProvider } from '../src/platform/embeddings/local.embeddings.js'
import { half, type Candidates } from './retrieval.fusion.js'
import { tokens } from './retrieval.lexical.js'
import { loadSet, scoreRanking, summarise, type RetrievalSet, type Summary } from './retrieval.set.js'

/**
 * Reranking steps that need vectors besides the stored ones, replayed over the candidate lists of a
 * retrieval report (`npm run bench -- retrieval` writes them): hubness correction (CSLS), the query
 * without its function words, pseudo-relevance feedback, and a soft lexical match where a query word
 * the memory lacks counts by its nearest word of the memory (word vectors of the same model). The
 * local model embeds the set's texts and words once; they are cached in the temporary directory.
 *
 *   npx tsx bench/retrieval.embedded.ts bench/results/retrieval-pglite-….json
 */

type Vectors = Record<string, number[]>
interface Hit {
  id: string
  score: number
  content: string
}
type Rerank = (c: Candidates, terms: string[]) => string[]

async function cached(name: string, texts: [string, string][]): Promise<Vectors> {
  const file = join(tmpdir(), `agentstore-retrieval-${name}.json`)
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as Vectors
  const provider = new LocalEmbeddingsProvider({ workers: 2 })
  try {
    const vectors = await provider.embed(texts.map(([, text]) => text))
    const out = Object.fromEntries(texts.map(([key], index) => [key, vectors[index]!]))
    writeFileSync(file, JSON.stringify(out))
    return out
  } finally {
    await provider.close()
  }
}

const dot = (a: number[], b: number[]) => a.reduce((sum, x, i) => sum + x * b[i]!, 0)
const cos = (a: number[], b: number[]) => dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b))
const union = (c: Candidates): Hit[] => [...new Map([...c.semantic, ...c.keyword].map((h) => [h.id, h])).values()]
const rankBy = (items: Hit[], score: (h: Hit) => number) =>
  items
    .map((h) => [h.id, score(h)] as const)
    .sort((a, b) => b[1] - a[1])
    .map(([id]) => id)
const lexical = (terms: string[], h: Hit) => 0.5 * termCoverage(terms, h.content) ** 2

/** Each memory's mean cosine to its k nearest other memories: how much of a hub it is. */
function hubness(set: RetrievalSet, v: Vectors, k: number): Map<string, number> {
  const ids = set.memories.map((m) => m.id)
  return new Map(
    ids.map((a) => {
      const nearest = ids
        .filter((b) => b !== a)
        .map((b) => cos(v[a]!, v[b]!))
        .sort((x, y) => y - x)
        .slice(0, k)
      return [a, nearest.reduce((sum, x) => sum + x, 0) / k]
    }),
  )
}

function reranks(set: RetrievalSet, v: Vectors, words: Vectors): Record<string, Rerank> {
  const q = (c: Candidates) => v[c.query.id]!
  const similarity = new Map<string, number>()
  const wordSimilarity = (a: string, b: string) => {
    const key = `${a}|${b}`
    if (!similarity.has(key)) similarity.set(key, words[a] && words[b] ? cos(words[a], words[b]) : 0)
    return similarity.get(key)!
  }
  const softCoverage = (terms: string[], text: string, tau: number) => {
    if (terms.length === 0) return 0
    const held = queryTerms(text)
    const soft = (term: string) => {
      if (termCoverage([term], text) === 1) return 1
      const best = Math.max(0, ...held.map((word) => wordSimilarity(term, word)))
      return best >= tau ? best : 0
    }
    return terms.reduce((sum, term) => sum + soft(term), 0) / terms.length
  }
  const hub = hubness(set, v, 10)
  return {
    service: (c, terms) => fuseHybrid(c.semantic, c.keyword, terms, (h) => h.id).map((e) => e.item.id),
    ...Object.fromEntries(
      [0.5, 1].map((a) => [`csls k=10 a=${a} (+0.5·coverage²)`, ((c, terms) => rankBy(union(c), (h) => cos(q(c), v[h.id]!) - a * hub.get(h.id)! + lexical(terms, h))) as Rerank]),
    ),
    ...Object.fromEntries(
      [0.5, 1].map((a) => [
        `candidates' hubness a=${a}`,
        ((c, terms) => {
          const all = union(c)
          const mean = (h: Hit) => all.filter((o) => o.id !== h.id).reduce((sum, o) => sum + cos(v[h.id]!, v[o.id]!), 0) / Math.max(1, all.length - 1)
          return rankBy(all, (h) => cos(q(c), v[h.id]!) - a * mean(h) + lexical(terms, h))
        }) as Rerank,
      ]),
    ),
    ...Object.fromEntries(
      [0.5, 1].map((w) => [`query without function words, w=${w}`, ((c, terms) => rankBy(union(c), (h) => (cos(q(c), v[h.id]!) + w * cos(v[`${c.query.id}:terms`]!, v[h.id]!)) / (1 + w) + lexical(terms, h))) as Rerank]),
    ),
    ...Object.fromEntries(
      [0.3, 0.6].map((b) => [
        `feedback from the top 3, b=${b}`,
        ((c, terms) => {
          const top = rankBy(union(c), (h) => cos(q(c), v[h.id]!) + lexical(terms, h)).slice(0, 3)
          const moved = q(c).map((x, i) => x + (b * top.reduce((sum, id) => sum + v[id]![i]!, 0)) / top.length)
          return rankBy(union(c), (h) => cos(moved, v[h.id]!) + lexical(terms, h))
        }) as Rerank,
      ]),
    ),
    ...Object.fromEntries(
      [0.4, 0.5, 0.6, 0.7].flatMap((tau) =>
        [0.5, 0.75].map((w) => [`soft coverage tau=${tau}, cos+${w}·soft²`, ((c, terms) => rankBy(union(c), (h) => cos(q(c), v[h.id]!) + w * softCoverage(terms, h.content, tau) ** 2)) as Rerank]),
      ),
    ),
  }
}

const [file] = process.argv.slice(2)
if (!file) throw new Error('usage: tsx bench/retrieval.embedded.ts <retrieval report JSON>')
const report = JSON.parse(readFileSync(file, 'utf8')) as { set: 'small' | 'large'; candidates: Candidates[] }
const set = loadSet(report.set)
const v = await cached(report.set, [
  ...set.memories.map((m) => [m.id, m.content] as [string, string]),
  ...set.queries.map((query) => [query.id, query.query] as [string, string]),
  ...set.queries.map((query) => [`${query.id}:terms`, queryTerms(query.query).join(' ')] as [string, string]),
])
const vocabulary = [...new Set([...set.memories.map((m) => m.content), ...set.queries.map((query) => query.query)].flatMap(tokens))]
const words = await cached(`${report.set}-words`, vocabulary.map((word) => [word, word]))
const cells = (s: Summary) => `${s['MRR@5'].toFixed(3)} ${s['hit@1'].toFixed(3)} ${s['recall@5'].toFixed(3)}`
console.log(`${report.set} set, ${report.candidates.length} queries; MRR@5 hit@1 recall@5 on dev | test | all | paraphrase`)
for (const [name, rerank] of Object.entries(reranks(set, v, words))) {
  const scores = report.candidates.map((c) => ({ c, score: scoreRanking(rerank(c, queryTerms(c.query.query)), c.query.relevant) }))
  const of = (keep: (c: Candidates) => boolean) => summarise(scores.filter((s) => keep(s.c)).map((s) => s.score))
  console.log(`${name.padEnd(40)} ${cells(of((c) => half(c.query.id) === 0))} | ${cells(of((c) => half(c.query.id) === 1))} | ${cells(of(() => true))} | ${cells(of((c) => c.query.kind === 'paraphrase'))}`)
}
