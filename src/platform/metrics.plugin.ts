import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type pg from 'pg'
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client'
import type { RequestMinutes } from './metrics.minutes.js'
import { RequestMetrics } from './metrics.requests.js'

export interface MetricsOptions {
  pool: pg.Pool
  /** Extra metrics of other parts (jobs, limits) register here. */
  registry?: Registry
  /** The last hour, a sample a minute, for the console's overview. */
  minutes?: RequestMinutes
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Registry
  }
}

/** Prometheus metrics at GET /metrics: requests by route template and status, latency, database pool. */
export const metricsPlugin = fp<MetricsOptions>(
  async (app: FastifyInstance, { pool, registry = new Registry(), minutes }) => {
    collectDefaultMetrics({ register: registry })
    const requests = new RequestMetrics()
    requests.register(registry)
    const poolGauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          this.set(read())
        },
      })
    poolGauge('db_pool_connections', 'Database connections open.', () => pool.totalCount)
    poolGauge('db_pool_idle_connections', 'Database connections idle.', () => pool.idleCount)
    poolGauge('db_pool_waiting_clients', 'Queries waiting for a database connection.', () => pool.waitingCount)

    app.decorate('metrics', registry)
    app.addHook('onResponse', (request, reply, done) => {
      // The route template, never the raw URL, so that ids do not explode the label set.
      const route = request.routeOptions.url ?? 'unmatched'
      requests.record(request.method, route, reply.statusCode, reply.elapsedTime / 1000)
      // The console's own pages and proxy are left out: the API call a proxied request makes is counted itself.
      if (minutes && !route.startsWith('/admin')) minutes.record(reply.statusCode, reply.elapsedTime)
      done()
    })

    app.get('/metrics', { config: { access: 'public' }, schema: { hide: true } }, async (_request, reply) => {
      reply.type(registry.contentType)
      return registry.metrics()
    })
  },
  { name: 'metrics' },
)
