import { stem } from './search.stem.js'

/**
 * English function words: full text runs on the language-neutral `simple` configuration (no stop
 * words), so without this list a question like "what does she eat" would match on "what" and "does".
 * They are dropped only from queries, and only when the query has other words.
 */
const STOP_WORDS = new Set(
  `a about above after again against all am an and any are as at be because been before being below between both but by
  can could did do does doing down during each few for from further had has have having he her here hers herself him himself
  his how i if in into is it its itself just me more most my myself no nor not now of off on once only or other our ours
  ourselves out over own same she should so some such than that the their theirs them themselves then there these they this
  those through to too under until up very was we were what when where which while who whom why will with would you your
  yours yourself yourselves tell know like get got any anything something`.split(/\s+/),
)

const MAX_TERMS = 32
/** Shorter words match only whole; longer ones also match as prefixes ("breakfast" finds "breakfasts"). */
const PREFIX_FROM = 4

function wordsOf(text: string): string[] {
  return [...new Set(text.normalize('NFKC').toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [])]
}

/** The words of a query that keyword search looks for (function words dropped when others remain). */
export function queryTerms(text: string): string[] {
  const words = wordsOf(text)
  const content = words.filter((word) => !STOP_WORDS.has(word))
  return (content.length > 0 ? content : words).slice(0, MAX_TERMS)
}

/** The words of a query as a to_tsquery('simple') expression that matches any of them; null when it has none. */
export function keywordQuery(text: string): string | null {
  const terms = queryTerms(text)
  if (terms.length === 0) return null
  return terms.map((term) => (term.length >= PREFIX_FROM ? `'${term}':*` : `'${term}'`)).join(' | ')
}

/**
 * The share of `terms` that `text` holds, matched as keyword search matches them (longer terms as
 * prefixes). A keyword hit on one word of a four-word question is weak evidence; one on all of them, strong.
 */
export function termCoverage(terms: string[], text: string): number {
  if (terms.length === 0) return 0
  return termsHeld(terms, text).length / terms.length
}

/**
 * The terms `text` holds: as keyword search matches them, or as another form of the same word (the
 * same Porter stem: "cat" in "cats", "allergies" in "allergy", which prefixes miss). What a person is
 * shown as the reason of a keyword hit. Stems lifted the large set's test half (bench/retrieval.bench.ts)
 * from MRR@5 0.838 / hit@1 0.779 to 0.853 / 0.798, and its dev half from 0.850 / 0.816 to 0.853 / 0.825.
 */
export function termsHeld(terms: string[], text: string): string[] {
  const words = wordsOf(text)
  let stems: Set<string> | undefined
  return terms.filter((term) => {
    if (words.some((word) => (term.length >= PREFIX_FROM ? word.startsWith(term) : word === term))) return true
    stems ??= new Set(words.map(stemOf))
    return stems.has(stemOf(term))
  })
}

/** Stems of words seen lately: hybrid stems the words of some 60 candidates a search, mostly the same ones. */
const STEMS = new Map<string, string>()
const STEMS_KEPT = 50_000

function stemOf(word: string): string {
  let stemmed = STEMS.get(word)
  if (stemmed === undefined) {
    if (STEMS.size >= STEMS_KEPT) STEMS.clear()
    stemmed = stem(word)
    STEMS.set(word, stemmed)
  }
  return stemmed
}

/**
 * What full lexical evidence (the text holds every word of the query) adds to a cosine similarity.
 * Measured on two hand-labelled sets (bench/retrieval.bench.ts): anywhere from 0.5 to 0.75 ranks better
 * than reciprocal rank fusion on both, on queries not used to choose it; 0.5 is the low end of that range.
 */
export const LEXICAL_WEIGHT = 0.5

/**
 * Hybrid search: every item of either list scored by its cosine similarity plus LEXICAL_WEIGHT times
 * the share of the query's words it holds, squared; best first. Scores, not ranks: rank fusion (RRF)
 * let a stray keyword match on one word sit level with the nearest meaning, and a hit on every word of
 * a name or code no higher than a vague neighbour. Squared, a paraphrase's one shared word adds little.
 * An item only the keyword list found gets the lowest cosine of the semantic list (it was not among
 * the nearest), so its lexical evidence must lift it.
 */
export function fuseHybrid<T extends { content: string; score: number }>(semantic: T[], keyword: T[], terms: string[], keyOf: (item: T) => string): { item: T; score: number }[] {
  const floor = semantic.length > 0 ? Math.min(...semantic.map((item) => item.score)) : 0
  const fused = new Map<string, { item: T; score: number }>()
  for (const item of semantic) fused.set(keyOf(item), { item, score: item.score })
  for (const item of keyword) if (!fused.has(keyOf(item))) fused.set(keyOf(item), { item, score: floor })
  for (const entry of fused.values()) entry.score += LEXICAL_WEIGHT * termCoverage(terms, entry.item.content) ** 2
  return [...fused.values()].sort((a, b) => b.score - a.score)
}
