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

/** The terms `text` holds, as keyword search matches them: what a person is shown as the reason of a keyword hit. */
export function termsHeld(terms: string[], text: string): string[] {
  const words = wordsOf(text)
  return terms.filter((term) => words.some((word) => (term.length >= PREFIX_FROM ? word.startsWith(term) : word === term)))
}

/** The constant of reciprocal rank fusion (Cormack et al. 2009): damps the weight of the very first ranks. */
export const RRF_K = 60

/**
 * Fuses ranked lists by reciprocal rank: an item scores the sum over lists of 1 / (k + rank). Items
 * are keyed by `keyOf`; the first list an item appears in supplies the item itself.
 */
export function reciprocalRankFusion<T>(
  lists: T[][],
  keyOf: (item: T) => string,
  k = RRF_K,
  /** How much an item's place in a list counts (default 1): weighted RRF. */
  weightOf: (item: T, list: number) => number = () => 1,
): { item: T; score: number }[] {
  const fused = new Map<string, { item: T; score: number }>()
  for (const [listIndex, list] of lists.entries()) {
    list.forEach((item, index) => {
      const key = keyOf(item)
      const entry = fused.get(key) ?? { item, score: 0 }
      entry.score += weightOf(item, listIndex) / (k + index + 1)
      fused.set(key, entry)
    })
  }
  return [...fused.values()].sort((a, b) => b.score - a.score)
}
