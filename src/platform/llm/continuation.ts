/**
 * Helpers that keep `continueFrom + deltas` equal to one clean reply when a generation resumes.
 */

/**
 * Anthropic rejects a final assistant message that ends in whitespace, so the prefill is sent
 * trimmed and the trimmed `tail` is remembered: the model will usually regenerate it.
 */
export function splitPrefill(continueFrom: string): { prefill: string; tail: string } {
  const prefill = continueFrom.trimEnd()
  return { prefill, tail: continueFrom.slice(prefill.length) }
}

/**
 * After a trimmed prefill, the caller's stored partial still ends with `tail`, but the model's
 * output starts right after the trimmed text. Its leading whitespace is held until the first real
 * character: whatever of it repeats `tail` is dropped, and if it differs from `tail` the partial's
 * own whitespace is kept and the model's is dropped (never doubled).
 */
export async function* joinAfterPrefill(deltas: AsyncIterable<string>, tail: string): AsyncGenerator<string> {
  if (tail === '') {
    yield* deltas
    return
  }
  let leading = ''
  let started = false
  for await (const delta of deltas) {
    if (started) {
      yield delta
      continue
    }
    const text = leading + delta
    const firstReal = text.search(/\S/)
    if (firstReal === -1) {
      leading = text
      continue
    }
    started = true
    const whitespace = text.slice(0, firstReal)
    const kept = whitespace.startsWith(tail) ? whitespace.slice(tail.length) : ''
    yield kept + text.slice(firstReal)
  }
}

/**
 * Chat completions have no prefill, so the model is asked to continue and may instead start over.
 * If the output begins with the whole of `already`, that copy is dropped; output is held only while
 * it still matches `already`, which in practice ends at the first character.
 */
export async function* dropRepeatedPrefix(deltas: AsyncIterable<string>, already: string): AsyncGenerator<string> {
  let held = ''
  let matching = already.length > 0
  for await (const delta of deltas) {
    if (!matching) {
      yield delta
      continue
    }
    held += delta
    if (held.length >= already.length && held.startsWith(already)) {
      matching = false
      const rest = held.slice(already.length)
      held = ''
      if (rest) yield rest
    } else if (!already.startsWith(held)) {
      matching = false
      const text = held
      held = ''
      yield text
    }
  }
  // A short reply that happened to match the beginning of `already` is still the reply.
  if (held) yield held
}

/**
 * Chat completions has no assistant prefill, so a resume shows the model its partial reply and asks
 * for the rest; the model cannot be forced to comply, which is why the output is also checked for a
 * full restart (dropRepeatedPrefix).
 */
export const CONTINUE_INSTRUCTION =
  'Your previous reply was cut off. Continue it exactly where it stopped, starting with the next character. ' +
  'Do not repeat any of it and do not comment on the interruption.'
