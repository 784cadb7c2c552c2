/**
 * The last hour of this process's HTTP traffic, one sample a minute: requests, server errors and the
 * 95th percentile of latency. /metrics is for Prometheus, which keeps history itself; this ring lets
 * the admin console draw the recent past without one. It is this process's view only: behind a load
 * balancer each replica sees its own share.
 */

// Upper bounds (ms) of the latency buckets: about 12 % apart from 0.25 ms to about a minute.
const BOUNDS: number[] = []
for (let bound = 0.25; bound < 70_000; bound *= 1.12) BOUNDS.push(bound)
BOUNDS.push(Number.POSITIVE_INFINITY)

interface Slot {
  minute: number
  requests: number
  errors: number
  buckets: Uint32Array
}

export interface MinuteSample {
  /** The minute's start (ISO 8601). */
  at: string
  requests: number
  /** Answers with a 5xx status. */
  errors: number
  /** Null in a minute without requests. */
  p95_ms: number | null
}

export class RequestMinutes {
  private readonly slots: Array<Slot | undefined>

  constructor(
    readonly minutes = 60,
    private readonly now: () => number = Date.now,
  ) {
    this.slots = new Array<Slot | undefined>(minutes)
  }

  record(status: number, elapsedMs: number): void {
    const minute = Math.floor(this.now() / 60_000)
    const index = minute % this.minutes
    let slot = this.slots[index]
    if (slot?.minute !== minute) {
      slot = { minute, requests: 0, errors: 0, buckets: new Uint32Array(BOUNDS.length) }
      this.slots[index] = slot
    }
    slot.requests++
    if (status >= 500) slot.errors++
    slot.buckets[bucketOf(elapsedMs)]!++
  }

  /** Every minute of the window, oldest first, the current (partial) one last; quiet minutes are zeros. */
  samples(): MinuteSample[] {
    const current = Math.floor(this.now() / 60_000)
    const out: MinuteSample[] = []
    for (let minute = current - this.minutes + 1; minute <= current; minute++) {
      const slot = this.slots[minute % this.minutes]
      const live = slot?.minute === minute ? slot : null
      out.push({ at: new Date(minute * 60_000).toISOString(), requests: live?.requests ?? 0, errors: live?.errors ?? 0, p95_ms: live ? quantile(live, 0.95) : null })
    }
    return out
  }
}

function bucketOf(ms: number): number {
  let low = 0
  let high = BOUNDS.length - 1
  while (low < high) {
    const mid = (low + high) >> 1
    if (ms <= BOUNDS[mid]!) high = mid
    else low = mid + 1
  }
  return low
}

/** As Prometheus' histogram_quantile: the bucket holding the rank, interpolated linearly inside it. */
function quantile(slot: Slot, q: number): number {
  const rank = q * slot.requests
  let seen = 0
  for (let i = 0; i < slot.buckets.length; i++) {
    const count = slot.buckets[i]!
    if (seen + count >= rank && count > 0) {
      const low = i === 0 ? 0 : BOUNDS[i - 1]!
      // The open last bucket has no upper bound: its lower one is the best that can be said.
      const high = Number.isFinite(BOUNDS[i]!) ? BOUNDS[i]! : low
      return Math.round((low + ((high - low) * (rank - seen)) / count) * 100) / 100
    }
    seen += count
  }
  return 0
}
