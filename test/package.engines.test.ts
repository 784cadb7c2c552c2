import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

// What `npm install` would warn about as EBADENGINE on the oldest Node the package supports: every
// package of the lockfile must accept it.

const root = new URL('..', import.meta.url)
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { engines: { node: string } }
const lock = JSON.parse(readFileSync(new URL('package-lock.json', root), 'utf8')) as {
  packages: Record<string, { version?: string; dev?: boolean; optional?: boolean; engines?: { node?: string } | string[] }>
}

type Version = [number, number, number]

const parse = (text: string): { version: Version; parts: number } => {
  const parts = text.replace(/^v/, '').split('.').filter((part) => part !== '' && !/^[x*]$/i.test(part))
  const numbers = parts.map(Number)
  return { version: [numbers[0] ?? 0, numbers[1] ?? 0, numbers[2] ?? 0], parts: parts.length }
}
const compare = (a: Version, b: Version) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]

/** The comparators npm engine ranges use (>=, >, <, <=, ^, ~, x-ranges), enough for every range of the lockfile. */
function satisfies(version: Version, range: string): boolean {
  return range.split('||').some((set) =>
    set
      .trim()
      .replace(/(>=|<=|>|<|\^|~|=)\s+/g, '$1')
      .split(/\s+/)
      .filter(Boolean)
      .every((comparator) => {
        const [, op = '', rest = ''] = /^(>=|<=|>|<|\^|~|=)?(.*)$/.exec(comparator)!
        const { version: bound, parts } = parse(rest)
        const order = compare(version, bound)
        if (op === '>=') return order >= 0
        if (op === '>') return order > 0
        if (op === '<=') return order <= 0
        if (op === '<') return order < 0
        const upper: Version =
          op === '^' ? (bound[0] > 0 ? [bound[0] + 1, 0, 0] : [0, bound[1] + 1, 0])
          : op === '~' ? [bound[0], bound[1] + 1, 0]
          : parts >= 3 ? [bound[0], bound[1], bound[2] + 1]
          : parts === 2 ? [bound[0], bound[1] + 1, 0]
          : parts === 1 ? [bound[0] + 1, 0, 0]
          : [Infinity, 0, 0]
        return order >= 0 && compare(version, upper) < 0
      }),
  )
}

describe('engines', () => {
  const oldest = parse(/^>=\s*([\d.]+)$/.exec(pkg.engines.node)![1]!).version

  it('the range check reads npm ranges the way npm does', () => {
    expect(satisfies([20, 19, 0], '>=22')).toBe(false)
    expect(satisfies([20, 19, 0], '^20.19.0 || >=22.12.0')).toBe(true)
    expect(satisfies([20, 18, 9], '^20.19.0 || >=22.12.0')).toBe(false)
    expect(satisfies([20, 19, 0], '18 || 20 || >=22')).toBe(true)
    expect(satisfies([21, 0, 0], '18 || 20 || >=22')).toBe(false)
    expect(satisfies([20, 19, 0], '>= 0.8')).toBe(true)
    expect(satisfies([20, 19, 0], '10.* || >= 12.*')).toBe(true)
    expect(satisfies([20, 19, 0], '>=16 || 14 >=14.17')).toBe(true)
  })

  it(`every package in package-lock.json runs on Node ${pkg.engines.node}`, () => {
    const refusing = Object.entries(lock.packages)
      .filter(([path, entry]) => path !== '' && !Array.isArray(entry.engines) && entry.engines?.node !== undefined)
      .filter(([, entry]) => !satisfies(oldest, (entry.engines as { node: string }).node))
      .map(([path, entry]) => `${path}@${entry.version} requires node ${(entry.engines as { node: string }).node}`)
    expect(refusing).toEqual([])
  })
})
