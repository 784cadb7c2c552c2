import autocannon from 'autocannon'

export interface LoadResult {
  scenario: string
  requestsPerSecond: number
  p50Ms: number
  p99Ms: number
  non2xx: number
  errors: number
  /** CPU time the measured process spent over the run (not the warm-up), when the caller can read it. */
  cpuMsPerRequest?: number
}

export interface LoadOptions {
  connections: number
  durationSeconds: number
}

/** Drives one URL with autocannon over loopback; a warm-up second is discarded first. */
export async function drive(
  scenario: string,
  request: { url: string; method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string },
  options: LoadOptions,
  cpuMs?: () => number,
): Promise<LoadResult> {
  const base = { url: request.url, method: request.method ?? 'GET', headers: request.headers, body: request.body, connections: options.connections }
  await autocannon({ ...base, duration: 1 })
  const cpuBefore = cpuMs?.()
  const result = await autocannon({ ...base, duration: options.durationSeconds })
  const cpuAfter = cpuMs?.()
  return {
    ...(cpuBefore !== undefined && cpuAfter !== undefined && result.requests.total > 0
      ? { cpuMsPerRequest: Math.round(((cpuAfter - cpuBefore) / result.requests.total) * 1000) / 1000 }
      : {}),
    scenario,
    requestsPerSecond: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  }
}
