import type { GptPrincipal } from '../../platform/auth/principal.js'
import { fitAnswer } from '../catalogue/budget.js'
import type { Catalogue } from '../catalogue/catalogue.js'

type Value = Record<string, unknown>

/**
 * Calls a catalogue operation for a GPT Action and keeps the answer within what Actions accept. When
 * items had to go, a paged list is asked again for exactly the items kept, so that its next_cursor
 * continues right after them.
 */
export async function callForAction(catalogue: Catalogue, name: string, principal: GptPrincipal, input: unknown): Promise<Value> {
  const operation = catalogue.get(name)
  const value = (await catalogue.call(name, principal, input)) as Value
  if (!operation) return value
  const first = fitAnswer(operation, value)
  const items = operation.list ? value[operation.list.items] : undefined
  const paged = 'limit' in operation.input.properties && typeof value.next_cursor !== 'undefined'
  if (first.kept === null || !paged || !Array.isArray(items) || first.kept >= items.length) return first.value
  const again = (await catalogue.call(name, principal, { ...(input as Value), limit: first.kept })) as Value
  return { ...fitAnswer(operation, again).value, truncated: true }
}
