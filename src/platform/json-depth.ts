/** True when `value` nests objects/arrays deeper than `max` levels (the top-level object is level 1). */
export function exceedsDepth(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]]
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!
    if (current === null || typeof current !== 'object') continue
    if (depth > max) return true
    for (const child of Array.isArray(current) ? current : Object.values(current)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1])
    }
  }
  return false
}

// U+0000 and unpaired UTF-16 surrogates: JSON allows them (as escapes), PostgreSQL's jsonb and text do not.
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

/** Why PostgreSQL cannot store this text, or null when it can. */
export function unstorableReason(text: string): string | null {
  const match = UNSTORABLE.exec(text)
  if (!match) return null
  return match[0] === '\u0000' ? 'must not contain U+0000 (NUL)' : 'must not contain an unpaired UTF-16 surrogate'
}

/** The text with every character PostgreSQL refuses replaced by U+FFFD, for logs that keep what they can. */
export function storableText(text: string): string {
  return text.replace(new RegExp(UNSTORABLE.source, 'g'), '\ufffd')
}

const pointerSegment = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1')

/**
 * The first string (value or member name) or non-finite number in `value` that PostgreSQL cannot
 * store faithfully, as a JSON pointer and a message; null when there is none. Iterative, like
 * `exceedsDepth`.
 */
export function findUnstorableText(value: unknown): { pointer: string; message: string } | null {
  const stack: [unknown, string][] = [[value, '']]
  while (stack.length > 0) {
    const [current, pointer] = stack.pop()!
    if (typeof current === 'string') {
      const reason = unstorableReason(current)
      if (reason) return { pointer, message: reason }
      continue
    }
    // JSON text such as 1e309 parses to Infinity, which jsonb would store as null: refused, not lost.
    if (typeof current === 'number' && !Number.isFinite(current)) return { pointer, message: 'must be a finite number' }
    if (current === null || typeof current !== 'object') continue
    if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) stack.push([current[i], `${pointer}/${i}`])
      continue
    }
    const entries = Object.entries(current)
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i]!
      const at = `${pointer}/${pointerSegment(key)}`
      const reason = unstorableReason(key)
      if (reason) return { pointer: at, message: `member name ${reason}` }
      stack.push([child, at])
    }
  }
  return null
}
