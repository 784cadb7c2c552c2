import type { Operation } from './catalogue.types.js'

/** GPT Actions refuse an answer longer than this many characters. */
export const ACTION_RESPONSE_CHARS = 100_000
/** Room kept for the members added here and for the escaping of the body in transit. */
const MARGIN = 2_000
/** Longest text member an item keeps in a shortened answer. */
const TEXT_CHARS = 2_000
export const TRUNCATED_MARKER = '… [truncated]'

export const BUDGET_NOTE =
  'Answers stay under 100,000 characters: long texts are cut (ending in "… [truncated]"), fewer items come back, and truncated is true; follow next_cursor for the rest.'

type Value = Record<string, unknown>

const size = (value: unknown) => JSON.stringify(value).length

function cutTexts(item: unknown, fields: string[]): unknown {
  if (item === null || typeof item !== 'object') return item
  const copy = { ...(item as Value) }
  for (const field of fields) {
    const text = copy[field]
    if (typeof text === 'string' && text.length > TEXT_CHARS) copy[field] = text.slice(0, TEXT_CHARS) + TRUNCATED_MARKER
  }
  return copy
}

/** An item that alone is over the budget (a huge document): its id, and a marker instead of its content. */
function stub(item: unknown): unknown {
  const id = item !== null && typeof item === 'object' ? (item as Value).id : undefined
  return { id, truncated: `${TRUNCATED_MARKER} this item is too large for one answer` }
}

/**
 * Shortens a list or search answer to fit `limit` characters: long texts first, then the last items.
 * `kept` is how many items remain, so that a caller can ask again for exactly that many and get a
 * cursor that continues right after them.
 */
export function fitAnswer(operation: Operation, value: Value, limit = ACTION_RESPONSE_CHARS): { value: Value; kept: number | null } {
  const budget = limit - MARGIN
  const list = operation.list
  if (!list || size(value) <= budget || !Array.isArray(value[list.items])) return { value, kept: null }
  let items = (value[list.items] as unknown[]).map((item) => cutTexts(item, list.text))
  items = items.map((item) => (size(item) > budget / 2 ? stub(item) : item))
  const shell = size({ ...value, [list.items]: [] })
  let total = shell + items.reduce<number>((sum, item) => sum + size(item) + 1, 0)
  while (items.length > 1 && total > budget) total -= size(items.pop()) + 1
  return { value: { ...value, [list.items]: items, truncated: true }, kept: items.length }
}
