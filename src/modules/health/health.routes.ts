import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { ERR } from '../../platform/errors.js'
import { checkReadiness, type ReadinessCheck } from '../../platform/readiness.js'

const Check = Type.Object({ ok: Type.Boolean(), state: Type.String() })
// Open objects: the compatibility surfaces add the fields their own health answers carry.
const open = { additionalProperties: true }
const ReadyBody = Type.Object(
  {
    status: Type.Union([Type.Literal('ready'), Type.Literal('degraded')]),
    checks: Type.Record(Type.String(), Check),
  },
  open,
)

type Fields = () => Record<string, unknown>

/** Fields added to the house's own root and health answers (the house's fields win where names meet). */
export interface HealthExtras {
  root?: Fields
  health?: Fields
  live?: Fields
  ready?: Fields
}

const Landing = Type.Object(
  {
    name: Type.Literal('agentstore'),
    version: Type.String(),
    description: Type.String(),
    links: Type.Object({ docs: Type.String(), openapi: Type.String(), health: Type.String() }),
  },
  open,
)

export function healthRoutes(deps: { version: string; checks: ReadinessCheck[]; publicUrl: string; extras?: HealthExtras }) {
  const extra = (fields: Fields | undefined) => (fields ? fields() : {})
  return async (app: FastifyInstance) => {
    const tags = ['health']
    // Whoever opens the bare address (a browser, a first curl) learns what answers here and where to read on.
    app.get(
      '/',
      {
        config: { access: 'public' },
        schema: { tags, operationId: 'getRoot', summary: 'What this service is, and where its documentation is', response: { 200: Landing } },
      },
      async () => ({
        ...extra(deps.extras?.root),
        name: 'agentstore' as const,
        version: deps.version,
        description: 'Persistence for Custom GPTs and AI agents. API keys go in Authorization: Bearer <key>.',
        links: { docs: `${deps.publicUrl}/docs`, openapi: `${deps.publicUrl}/openapi.json`, health: `${deps.publicUrl}/health` },
      }),
    )
    app.get(
      '/health',
      {
        config: { access: 'public' },
        schema: {
          tags,
          operationId: 'getHealth',
          summary: 'Service status and version',
          response: { 200: Type.Object({ status: Type.Literal('ok'), version: Type.String() }, open) },
        },
      },
      async () => ({ ...extra(deps.extras?.health), status: 'ok' as const, version: deps.version }),
    )
    app.get(
      '/live',
      {
        config: { access: 'public' },
        schema: { tags, operationId: 'getLive', summary: 'The process is up', response: { 200: Type.Object({ status: Type.Literal('ok') }, open) } },
      },
      async () => ({ ...extra(deps.extras?.live), status: 'ok' as const }),
    )
    app.get(
      '/ready',
      {
        config: { access: 'public' },
        schema: {
          tags,
          operationId: 'getReady',
          summary: 'Database reachable and migrated; Redis when configured',
          description: '200 when ready (or degraded: serving, with a non-critical part down); 503 problem details otherwise.',
          response: { 200: ReadyBody },
        },
      },
      async () => {
        const readiness = await checkReadiness(deps.checks)
        if (readiness.status === 'unavailable') {
          const failing = Object.entries(readiness.checks).filter(([, check]) => !check.ok)
          throw ERR.unavailable(`Not ready: ${failing.map(([name, check]) => `${name}: ${check.state}`).join('; ')}.`, {
            checks: readiness.checks,
          })
        }
        return { ...extra(deps.extras?.ready), status: readiness.status, checks: readiness.checks }
      },
    )
  }
}
