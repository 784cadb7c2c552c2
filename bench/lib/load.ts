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
  /** The same for the database's processes (a PostgreSQL on this machine). */
  databaseCpuMsPerRequest?: number
}

export interface LoadOptions {
  connections: number
  durationSeconds: number
  /** Seconds driven and discarded before the measured run (1 unless given; 0 for a service already warm). */
  warmUpSeconds?: number
  /** Ms waited after the run before the CPU is read again, so that work the run left queued (a batch on a timer) counts with it. */
  settleMs?: number
  /**
   * Requests per second the load generator holds to, all connections together (unset: as many as the
   * service answers). At a set rate two settings do the same work in the same time, so their CPU per
   * request compares without the one answering faster also doing less per request.
   */
  rate?: number
}

/** Drives one URL with autocannon over loopback; a warm-up (a second unless told) is discarded first. */
export async function drive(
  scenario: string,
  request: {
    url: string
    method?: 'GET' | 'POST'
    headers?: Record<string, string>
    body?: string
    /** Paths the requests take in turn, instead of the url's. */
    paths?: string[]
  },
  options: LoadOptions,
  cpuMs?: () => number,
  databaseCpuMs?: () => number,
): Promise<LoadResult> {
  let turn = 0
  const paths = request.paths
  const inTurn = paths ? { requests: [{ setupRequest: (sent: autocannon.Request) => ({ ...sent, path: paths[turn++ % paths.length]! }) }] } : {}
  const base = {
    url: request.url,
    method: request.method ?? 'GET',
    headers: request.headers,
    body: request.body,
    connections: options.connections,
    ...inTurn,
    ...(options.rate ? { overallRate: options.rate } : {}),
  }
  const warmUp = options.warmUpSeconds ?? 1
  if (warmUp > 0) await autocannon({ ...base, duration: warmUp })
  const cpuBefore = cpuMs?.()
  const databaseBefore = databaseCpuMs?.()
  const result = await autocannon({ ...base, duration: options.durationSeconds })
  if (options.settleMs) await new Promise((resolve) => setTimeout(resolve, options.settleMs))
  const cpuAfter = cpuMs?.()
  const databaseAfter = databaseCpuMs?.()
  const perRequest = (before: number | undefined, after: number | undefined) =>
    before !== undefined && after !== undefined && result.requests.total > 0 ? Math.round(((after - before) / result.requests.total) * 1000) / 1000 : undefined
  const cpuMsPerRequest = perRequest(cpuBefore, cpuAfter)
  const databaseCpuMsPerRequest = perRequest(databaseBefore, databaseAfter)
  return {
    ...(cpuMsPerRequest !== undefined ? { cpuMsPerRequest } : {}),
    ...(databaseCpuMsPerRequest !== undefined && !Number.isNaN(databaseCpuMsPerRequest) ? { databaseCpuMsPerRequest } : {}),
    scenario,
    requestsPerSecond: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  }
}
