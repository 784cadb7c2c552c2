export type RateLimitScope = 'key' | 'write' | 'ip'

/** A token bucket: `limit` tokens, refilled evenly over `periodMs`. */
export interface RateLimitRule {
  scope: RateLimitScope
  limit: number
  periodMs: number
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }
const SCOPES: readonly RateLimitScope[] = ['key', 'write', 'ip']

/** Parses `key:60/m,write:10/m,ip:600/5m`; `0`, `off` or an empty string turn rate limiting off. */
export function parseRateLimits(text: string): RateLimitRule[] {
  const trimmed = text.trim().toLowerCase()
  if (trimmed === '' || trimmed === '0' || trimmed === 'off') return []
  const rules: RateLimitRule[] = []
  for (const part of trimmed.split(',')) {
    const match = /^(\w+):(\d+)\/(\d*)([smhd])$/.exec(part.trim())
    if (!match) {
      throw new Error(`"${part.trim()}" is not of the form scope:count/period (for example key:60/m or ip:600/5m)`)
    }
    const [, scope, count, multiplier, unit] = match as unknown as [string, string, string, string, string]
    if (!SCOPES.includes(scope as RateLimitScope)) {
      throw new Error(`unknown scope "${scope}" (allowed: ${SCOPES.join(', ')})`)
    }
    if (rules.some((rule) => rule.scope === scope)) throw new Error(`scope "${scope}" is given twice`)
    const limit = Number(count)
    const periodMs = (multiplier === '' ? 1 : Number(multiplier)) * UNIT_MS[unit]!
    if (limit < 1 || periodMs < 1) throw new Error(`"${part.trim()}" needs a count and a period above zero`)
    rules.push({ scope: scope as RateLimitScope, limit, periodMs })
  }
  return rules
}
