import { Counter, Histogram, Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { REQUEST_BUCKETS, RequestMetrics } from './metrics.requests.js'

/** Samples of a Prometheus text exposition, by name and sorted labels (label order carries no meaning). */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!match) throw new Error(`not a sample: ${line}`)
    const labels = (match[2] ?? '').split(/,(?=[a-z_]+=")/).filter(Boolean).sort().join(',')
    out.set(`${match[1]}{${labels}}`, Number(match[3]))
  }
  return out
}

const comments = (text: string) => text.split('\n').filter((line) => line.startsWith('#'))

/** prom-client's own Counter and Histogram, as the service used them before: the reference. */
function reference() {
  const registry = new Registry()
  const labelNames = ['method', 'route', 'status'] as const
  const counter = new Counter({ name: 'http_requests_total', help: 'HTTP requests answered.', labelNames, registers: [registry] })
  const histogram = new Histogram({ name: 'http_request_duration_seconds', help: 'Time from request to response.', labelNames, buckets: REQUEST_BUCKETS, registers: [registry] })
  return {
    registry,
    record(method: string, route: string, status: number, seconds: number) {
      const labels = { method, route, status: String(status) }
      counter.inc(labels)
      histogram.observe(labels, seconds)
    },
  }
}

const OBSERVED: [string, string, number, number][] = [
  ['GET', '/v1/objects/:id', 200, 0.0004],
  ['GET', '/v1/objects/:id', 200, 0.001],
  ['GET', '/v1/objects/:id', 200, 0.0011],
  ['GET', '/v1/objects/:id', 404, 0.002],
  ['POST', '/v1/gpts/:gpt_id/collections/:name/objects', 201, 0.025],
  ['POST', '/v1/gpts/:gpt_id/collections/:name/objects', 201, 10],
  ['POST', '/v1/gpts/:gpt_id/collections/:name/objects', 201, 12.5],
  ['GET', 'unmatched', 404, 0],
  ['GET', '/v1/objects/:id', 200, 0.3],
]

/** The same requests recorded by RequestMetrics and by the reference, each in a registry of its own. */
function recordBoth() {
  const ours = new Registry()
  const metrics = new RequestMetrics()
  metrics.register(ours)
  const theirs = reference()
  for (const [method, route, status, seconds] of OBSERVED) {
    metrics.record(method, route, status, seconds)
    theirs.record(method, route, status, seconds)
  }
  return { ours, theirs: theirs.registry }
}

describe('RequestMetrics', () => {
  it("exposes the same samples, help and types as prom-client's Counter and Histogram for the same requests", async () => {
    const { ours, theirs } = recordBoth()
    const [text, expected] = await Promise.all([ours.metrics(), theirs.metrics()])
    expect(comments(text)).toEqual(comments(expected))
    const got = samples(text)
    expect(got).toEqual(samples(expected))
    // Spot checks, so that a bug in both (or in the parser) shows too.
    expect(got.get('http_requests_total{method="GET",route="/v1/objects/:id",status="200"}')).toBe(4)
    expect(got.get('http_request_duration_seconds_bucket{le="0.001",method="GET",route="/v1/objects/:id",status="200"}')).toBe(2)
    expect(got.get('http_request_duration_seconds_bucket{le="10",method="POST",route="/v1/gpts/:gpt_id/collections/:name/objects",status="201"}')).toBe(2)
    expect(got.get('http_request_duration_seconds_bucket{le="+Inf",method="POST",route="/v1/gpts/:gpt_id/collections/:name/objects",status="201"}')).toBe(3)
  })

  it('answers the same as JSON, and forgets everything on reset', async () => {
    const { ours, theirs } = recordBoth()
    const normalize = (all: Awaited<ReturnType<Registry['getMetricsAsJSON']>>) =>
      all.map((metric) => ({ ...metric, values: metric.values.map((value) => ({ name: (value as { metricName?: string }).metricName ?? metric.name, labels: value.labels, value: value.value })) }))
    expect(normalize(await ours.getMetricsAsJSON())).toEqual(normalize(await theirs.getMetricsAsJSON()))
    ours.resetMetrics()
    expect(samples(await ours.metrics()).size).toBe(0)
    expect(comments(await ours.metrics())).toHaveLength(4)
  })

  it('refuses a second metric of the same name in the registry, as prom-client does', () => {
    const registry = new Registry()
    new RequestMetrics().register(registry)
    expect(() => new RequestMetrics().register(registry)).toThrow(/already been registered/)
  })
})
