import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

export interface OpenApiOptions {
  version: string
  publicUrl: string
}

/** Route metadata that places a route in the OpenAPI document. */
export const BEARER_SECURITY = [{ bearerAuth: [] }]
/** FastWrap's header: the account key in `X-API-Key` (docs/compat.md). */
export const API_KEY_HEADER_SECURITY = [{ apiKeyHeader: [] }]

/**
 * Everything /docs loads comes from this service. Unlike the plugin's default policy there is no
 * `upgrade-insecure-requests`, which turns the page's own assets into https requests and leaves it
 * blank on a plain-http host, and no outside source for styles, fonts or images.
 */
const DOCS_CSP = {
  'default-src': ["'self'"],
  'base-uri': ["'self'"],
  'font-src': ["'self'", 'data:'],
  'frame-ancestors': ["'self'"],
  'img-src': ["'self'", 'data:'],
  'object-src': ["'none'"],
  'script-src': ["'self'"],
  'script-src-attr': ["'none'"],
  'style-src': ["'self'"],
}

/**
 * OpenAPI 3.1 generated from the route schemas, served at /openapi.json; /docs renders it with the
 * Swagger UI assets shipped in the package (no CDN).
 */
export const openApiPlugin = fp<OpenApiOptions>(
  async (app: FastifyInstance, { version, publicUrl }) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'Agentstore',
          version,
          description:
            'Persistence for Custom GPTs and AI agents. Errors are RFC 9457 problem details (application/problem+json).',
        },
        servers: [{ url: publicUrl }],
        components: {
          securitySchemes: {
            bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API key `ak_<id>_<secret>` (or the admin token on /v1/admin).' },
            apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'An account key `ak_<id>_<secret>` (the FastWrap routes).' },
          },
        },
      },
    })
    // Swagger UI's own routes carry no access setting; the page and its assets are public.
    app.addHook('onRoute', (route) => {
      if (route.url.startsWith('/docs')) route.config = { ...route.config, access: 'public' }
    })
    await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: DOCS_CSP, uiConfig: { deepLinking: true } })
    app.get('/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () => app.swagger())
  },
  { name: 'openapi' },
)
