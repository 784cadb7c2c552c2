export interface Percentiles {
  p50Ms: number
  p99Ms: number
  maxMs: number
  samples: number
}

export const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits

/** p50 / p99 / max of durations in ms (nearest rank). */
export function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN
  return { p50Ms: round(at(0.5)), p99Ms: round(at(0.99)), maxMs: round(sorted[sorted.length - 1] ?? Number.NaN), samples: sorted.length }
}

/** a / b, rounded; NaN when b is not positive. */
export const ratio = (a: number, b: number) => (b > 0 ? round(a / b) : Number.NaN)

/** How long `run` took, with what it answered. */
export async function timed<T>(run: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const begin = performance.now()
  const value = await run()
  return { ms: performance.now() - begin, value }
}
