import { queryTerms } from '../src/modules/search/search.ranking.js'

/**
 * Lexical evidence the bench's fusions try besides the service's plain coverage: BM25 (Robertson's
 * idf, k1 1.2, b 0.75) and idf-weighted coverage with document frequencies from the GPT's corpus
 * (every memory of the set) or from the query's candidates only, and query-term proximity. Terms
 * match as keyword search matches them: words of four letters or more also as prefixes.
 */

const PREFIX_FROM = 4

export const tokens = (text: string) => text.normalize('NFKC').toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []

const matches = (term: string, word: string) => (term.length >= PREFIX_FROM ? word.startsWith(term) : word === term)

export interface Corpus {
  documents: number
  averageLength: number
  /** Documents holding the term (as a keyword match), by term; filled on first use. */
  frequency(term: string): number
}

export function corpusOf(texts: string[]): Corpus {
  const documents = texts.map((text) => [...new Set(tokens(text))])
  const known = new Map<string, number>()
  const averageLength = texts.reduce((sum, text) => sum + tokens(text).length, 0) / Math.max(1, texts.length)
  return {
    documents: texts.length,
    averageLength,
    frequency(term) {
      let count = known.get(term)
      if (count === undefined) {
        count = documents.filter((words) => words.some((word) => matches(term, word))).length
        known.set(term, count)
      }
      return count
    },
  }
}

/** Robertson–Spärck Jones idf, kept positive (Lucene's form). */
export function idf(corpus: Corpus, term: string): number {
  const df = corpus.frequency(term)
  return Math.log(1 + (corpus.documents - df + 0.5) / (df + 0.5))
}

export function bm25(corpus: Corpus, terms: string[], text: string, k1 = 1.2, b = 0.75): number {
  const words = tokens(text)
  const norm = k1 * (1 - b + (b * words.length) / corpus.averageLength)
  return terms.reduce((sum, term) => {
    const tf = words.filter((word) => matches(term, word)).length
    return tf === 0 ? sum : sum + (idf(corpus, term) * tf * (k1 + 1)) / (tf + norm)
  }, 0)
}

/** The idf-weighted share of the query's terms the text holds: a rare word held counts for more than a common one. */
export function idfCoverage(corpus: Corpus, terms: string[], text: string): number {
  const words = new Set(tokens(text))
  let held = 0
  let total = 0
  for (const term of terms) {
    const weight = idf(corpus, term)
    total += weight
    if ([...words].some((word) => matches(term, word))) held += weight
  }
  return total > 0 ? held / total : 0
}

/** The share of the query's terms the text holds as words or prefixes only: hybrid's coverage before it compared stems too. */
export function prefixCoverage(terms: string[], text: string): number {
  const words = tokens(text)
  return terms.length > 0 ? terms.filter((term) => words.some((word) => matches(term, word))).length / terms.length : 0
}

/** The share of the query's adjacent term pairs the text holds within a window of four words (1 when the query has one term and the text holds it). */
export function proximity(terms: string[], text: string): number {
  const words = tokens(text)
  const at = (term: string) => words.flatMap((word, index) => (matches(term, word) ? [index] : []))
  if (terms.length < 2) return terms.length === 1 && at(terms[0]!).length > 0 ? 1 : 0
  let near = 0
  for (let i = 0; i + 1 < terms.length; i++) {
    const [left, right] = [at(terms[i]!), at(terms[i + 1]!)]
    if (left.some((a) => right.some((b) => Math.abs(a - b) <= 4))) near++
  }
  return near / (terms.length - 1)
}

export { queryTerms }
