import { describe, expect, it } from 'vitest'
import { throttledWarning } from './logger.js'

describe('throttledWarning', () => {
  it('logs the first failure, then one per interval with the count of those suppressed', () => {
    const lines: { object: Record<string, unknown>; message: string }[] = []
    let now = 0
    const warn = throttledWarning({ warn: (object, message) => lines.push({ object: object as Record<string, unknown>, message }) }, 'down', 1000, () => now)
    warn(new Error('a'))
    now = 500
    warn(new Error('b'))
    warn(new Error('c'))
    now = 1000
    warn(new Error('d'))
    expect(lines.map((line) => [line.message, (line.object.err as Error).message, line.object.suppressed])).toEqual([
      ['down', 'a', 0],
      ['down', 'd', 2],
    ])
  })
})
