import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { accountPrincipal } from '../../platform/auth/auth.plugin.js'
import { problemResponses } from '../../platform/http/problem.schemas.js'
import { BEARER_SECURITY } from '../../platform/openapi.plugin.js'
import { Overview } from './overview.schemas.js'
import type { OverviewService } from './overview.service.js'

const DESCRIPTION =
  'The GPTs the caller can see (at most 100, `gpts_truncated` says when there are more) with their counts, and what still waits for an embedding. ' +
  "For the operator also `server`: this process's last hour of requests, one sample a minute (requests, 5xx errors, p95 latency), the runs of the background jobs this process took since it started, and the newest backup in BACKUP_DIR. " +
  'Behind a load balancer each replica reports its own traffic and job runs; /metrics with Prometheus gives the whole picture.'

/**
 * GET /v1/admin/overview (the operator) and GET /v1/overview (an account): what the admin console's
 * first page shows, in one call, drawn from the service's own metrics and tables.
 */
export function overviewRoutes({ overview }: { overview: OverviewService }, caller: 'operator' | 'account') {
  return async (instance: FastifyInstance) => {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>()
    const operator = caller === 'operator'
    app.get(
      operator ? '/v1/admin/overview' : '/v1/overview',
      {
        config: { access: operator ? 'admin' : 'account' },
        schema: {
          tags: [operator ? 'admin' : 'accounts'],
          security: BEARER_SECURITY,
          operationId: operator ? 'adminGetOverview' : 'getOverview',
          summary: operator ? "Every GPT with its counts, and this process's traffic, job runs and last backup" : "The calling account's GPTs with their counts",
          description: DESCRIPTION,
          response: { 200: Overview, ...problemResponses(401) },
        },
      },
      async (request) => (operator ? overview.forOperator() : overview.forAccount(accountPrincipal(request).accountId)),
    )
  }
}
