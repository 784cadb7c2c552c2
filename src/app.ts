import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { Config } from './config.js'
import { auditPlugin } from './platform/audit/audit.plugin.js'
import { authPlugin } from './platform/auth/auth.plugin.js'
import type { Database } from './platform/db/database.js'
import { answerClientError, answerFrameworkError, MAX_PARAM_LENGTH } from './platform/http/framework-errors.js'
import { registerCors } from './platform/http/cors.js'
import { headersPlugin } from './platform/http/headers.plugin.js'
import { jsonBodyPlugin } from './platform/http/json-body.plugin.js'
import { problemPlugin } from './platform/http/problem.plugin.js'
import { storableTextPlugin } from './platform/http/storable-text.plugin.js'
import { lazyResponseSerializers, requestValidatorCompiler } from './platform/http/validation.js'
import { rateLimitPlugin } from './platform/limits/rate-limit.plugin.js'
import type { RateLimitStore } from './platform/limits/rate-limit.store.js'
import { loggerOptions, throttledWarning } from './platform/logger.js'
import { metricsPlugin } from './platform/metrics.plugin.js'
import { openApiPlugin } from './platform/openapi.plugin.js'
import type { ReadinessCheck } from './platform/readiness.js'
import { accountRoutes, adminAccountRoutes, jwksRoutes } from './modules/accounts/accounts.routes.js'
import { auditRoutes } from './modules/audit/audit.routes.js'
import { appRoutes } from './modules/oauth/apps.routes.js'
import { consentRoutes } from './modules/oauth/consent.routes.js'
import { oauthRoutes } from './modules/oauth/oauth.routes.js'
import { accountGptRoutes, adminGptRoutes, gptRoutes } from './modules/gpts/gpts.routes.js'
import { gptStatsRoutes } from './modules/gpts/gpts.stats.routes.js'
import { overviewRoutes } from './modules/overview/overview.routes.js'
import { archiveRoutes } from './modules/archive/archive.routes.js'
import { healthRoutes } from './modules/health/health.routes.js'
import { keyRoutes, meRoutes } from './modules/keys/keys.routes.js'
import { collectionRoutes } from './modules/collections/collections.routes.js'
import { objectRoutes } from './modules/objects/objects.routes.js'
import { actionRoutes } from './modules/actions/actions.routes.js'
import { agentRoutes } from './modules/agents/agents.routes.js'
import { conversationRoutes } from './modules/mail/conversations.routes.js'
import { mailRoutes } from './modules/mail/mail.routes.js'
import { InboxStreams } from './modules/mail/mail.stream.js'
import { characterRoutes } from './modules/characters/characters.routes.js'
import { sessionRoutes } from './modules/chat/sessions.routes.js'
import { messageRoutes } from './modules/chat/messages.routes.js'
import { memoryRoutes } from './modules/memories/memories.routes.js'
import { extractionRoutes } from './modules/extraction/extraction.routes.js'
import { generationRoutes } from './modules/chat/generation.routes.js'
import { GenerationStreams } from './modules/chat/generation.stream.js'
import { searchRoutes } from './modules/search/search.routes.js'
import { mcpRoutes } from './modules/mcp/mcp.routes.js'
import { consoleAssetRoutes } from './modules/console/console.assets.js'
import { consoleRoutes } from './modules/console/console.routes.js'
import { compatHealthExtras } from './compat/health.js'
import { adapterAuthRoutes } from './compat/adapter/adapter.auth.routes.js'
import { adapterRoutes } from './compat/adapter/adapter.routes.js'
import { agentMailCliRoutes } from './compat/agentmail/agentmail.cli.routes.js'
import { agentMailReadRoutes } from './compat/agentmail/agentmail.read.routes.js'
import { agentMailRoutes } from './compat/agentmail/agentmail.routes.js'
import { agentMailUserRoutes } from './compat/agentmail/agentmail.users.routes.js'
import { chatStoreRoutes } from './compat/chatstore/chatstore.routes.js'
import { fastWrapClientRoutes } from './compat/fastwrap/fastwrap.clients.routes.js'
import { fastWrapRoutes } from './compat/fastwrap/fastwrap.routes.js'
import type { EventBus } from './platform/events/event-bus.js'
import type { Services } from './services.js'

export interface AppDeps {
  config: Config
  database: Database
  services: Services
  rateLimitStore: RateLimitStore
  readinessChecks: ReadinessCheck[]
  /** The bus that carries delivered mail to the inbox streams of every process. */
  events: EventBus
  version: string
  /** Overrides the logger built from config (tests pass a silent or capturing one). */
  logger?: FastifyServerOptions['loggerInstance']
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** Builds the HTTP app. Every plugin and module is registered here, explicitly, in order. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config, database, services } = deps
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: loggerOptions(config.logLevel) }),
    bodyLimit: config.bodyLimit,
    trustProxy: config.trustProxy,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors: answerFrameworkError,
    schemaController: { compilersFactory: { buildSerializer: lazyResponseSerializers } },
    clientErrorHandler: answerClientError,
    // A caller's X-Request-Id is kept when it is a plain token (never raw text into the log).
    genReqId: (request) => {
      const given = request.headers['x-request-id']
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
    },
  })
  app.setValidatorCompiler(requestValidatorCompiler())
  // Only JSON bodies: anything else is 415, not a string that fails validation later.
  app.removeContentTypeParser('text/plain')

  await app.register(headersPlugin)
  await app.register(problemPlugin)
  await app.register(jsonBodyPlugin)
  await app.register(storableTextPlugin, { maxDepth: Math.max(256, config.maxJsonDepth * 8), maxJsonDepth: config.maxJsonDepth })
  await app.register(metricsPlugin, { pool: database.pool, registry: services.registry, minutes: services.overview.minutes })
  await app.register(openApiPlugin, { version: deps.version, publicUrl: config.publicUrl })
  // Before rate limits and authentication: a preflight carries no credentials and is answered at once.
  await registerCors(app, config.corsOrigins)
  await app.register(rateLimitPlugin, {
    rules: config.rateLimits,
    store: deps.rateLimitStore,
    onStoreError: throttledWarning(app.log, 'rate limit store failed; requests let through'),
  })
  await app.register(authPlugin, {
    adminToken: config.adminToken,
    authenticateKey: (token) => services.keys.authenticate(token),
    authenticateToken: (token) => services.oauth.access.authenticate(token),
    authenticateAccount: (token) => services.accounts.authenticate(token),
    checkOwner: async (gptId, accountId) => void (await services.gpts.getGpt(gptId, accountId)),
  })
  const auditWriter = services.auditWriter
  if (auditWriter) {
    await app.register(auditPlugin, { sink: auditWriter })
    // After the last request is answered: no row recorded before the close is lost.
    app.addHook('onClose', async () => auditWriter.close())
  }

  const listDeps = { publicUrl: config.publicUrl, maxPageSize: config.maxPageSize }
  const compat = config.compat
  await app.register(
    healthRoutes({ version: deps.version, checks: deps.readinessChecks, publicUrl: config.publicUrl, extras: compatHealthExtras(compat, new Date()) }),
  )
  await app.register(jwksRoutes({ signingKeys: services.signingKeys }))
  await app.register(accountRoutes({ accounts: services.accounts }))
  await app.register(gptRoutes({ gpts: services.gpts }))
  await app.register(accountGptRoutes({ gpts: services.gpts, ...listDeps }))
  await app.register(gptStatsRoutes({ gpts: services.gpts }, 'tenant'))
  await app.register(overviewRoutes({ overview: services.overview }, 'account'))
  const archiveDeps = { archive: services.archive, maxBytes: config.archiveImportMaxBytes }
  await app.register(archiveRoutes(archiveDeps, 'tenant'))
  await app.register(meRoutes())
  await app.register(oauthRoutes(services.oauth))
  await app.register(consentRoutes({ authorize: services.oauth.authorize, secureCookies: config.publicUrl.startsWith('https:') }))
  await app.register(appRoutes({ apps: services.oauth.apps, ...listDeps }))
  await app.register(auditRoutes({ audit: services.audit, ...listDeps }))
  await app.register(keyRoutes({ keys: services.keys, ...listDeps }, 'tenant'))
  await app.register(
    collectionRoutes({ collections: services.collections, objects: services.objects, importBodyLimit: config.importBodyLimit, ...listDeps }),
  )
  await app.register(objectRoutes({ objects: services.objects, ...listDeps }))
  await app.register(agentRoutes({ agents: services.agents, ...listDeps }))
  const streams = new InboxStreams(deps.events, services.mail, config.sseHeartbeatMs, app.log)
  app.addHook('onClose', async () => streams.close())
  await app.register(
    mailRoutes({ mail: services.mail, streams, maxRecipients: config.maxRecipients, maxMailChars: config.maxMailChars, ...listDeps }),
  )
  await app.register(conversationRoutes({ conversations: services.conversations, mail: services.mail, ...listDeps }))
  await app.register(characterRoutes({ characters: services.characters, maxMessageChars: config.maxMessageChars, ...listDeps }))
  await app.register(sessionRoutes({ sessions: services.sessions, ...listDeps }))
  await app.register(messageRoutes({ messages: services.messages, maxMessageChars: config.maxMessageChars, ...listDeps }))
  const replies = new GenerationStreams(services.generationHub, (gptId, id) => services.generation.currentMessage(gptId, id), config.sseHeartbeatMs, app.log)
  // Streams end before the server closes, so that it does not wait for them; generations still running
  // once in-flight requests are done are stopped and stored, ready for resume.
  app.addHook('preClose', (done) => {
    replies.closeAll()
    done()
  })
  app.addHook('onClose', async () => services.generation.close())
  await app.register(generationRoutes({ generation: services.generation, canceller: services.generationCanceller, streams: replies, maxMessageChars: config.maxMessageChars }))
  await app.register(
    memoryRoutes({ memories: services.memories, maxMemoryChars: config.maxMemoryChars, maxBatch: config.maxBatch, ...listDeps }),
  )
  await app.register(extractionRoutes({ extraction: services.extraction, ...listDeps }))
  // Runs of this process (no job queue) finish before the database closes.
  app.addHook('onClose', async () => services.extraction.close())
  await app.register(searchRoutes({ search: services.search }))
  const catalogue = services.catalogue
  await app.register(
    actionRoutes({
      gpts: services.gpts,
      collections: services.collections,
      catalogue,
      publicUrl: config.publicUrl,
      version: deps.version,
      hasOAuthApp: (gptId) => services.oauth.apps.hasApps(gptId),
    }),
  )
  await app.register(
    mcpRoutes({
      catalogue,
      prompts: services.characters,
      version: deps.version,
      authenticateKey: (token) => services.keys.authenticate(token),
      authenticateToken: (token) => services.oauth.access.authenticate(token, [services.oauth.resources.mcp]),
      resourceMetadataUrl: `${config.publicUrl}/.well-known/oauth-protected-resource/mcp`,
      publicUrl: config.publicUrl,
      allowedOrigins: config.mcpAllowedOrigins,
    }),
  )
  await app.register(consoleAssetRoutes())
  await app.register(consoleRoutes({ console: services.console, publicUrl: config.publicUrl, importBodyLimit: config.importBodyLimit }))
  // The replaced systems' own APIs (docs/compat.md), each only when COMPAT names it.
  if (compat.includes('chatstore')) {
    const { sessions, messages, generation } = services
    await app.register(chatStoreRoutes({ sessions, messages, generation, maxMessageChars: config.maxMessageChars }))
  }
  if (compat.includes('agentmail')) {
    const { agents, mail, conversations } = services
    await app.register(agentMailRoutes({ agents, mail, maxMailChars: config.maxMailChars }))
    await app.register(agentMailReadRoutes({ agents, mail, conversations, maxPageSize: config.maxPageSize }))
    await app.register(agentMailCliRoutes())
    await app.register(agentMailUserRoutes({ objects: services.objects }))
  }
  if (compat.includes('fastwrap')) {
    const { accounts, gpts, characters, sessions, generation, memories, search } = services
    await app.register(fastWrapClientRoutes({ accounts, gpts }))
    const limits = { maxMessageChars: config.maxMessageChars, maxMemoryChars: config.maxMemoryChars }
    await app.register(fastWrapRoutes({ accounts, gpts, characters, sessions, generation, memories, search, limits }))
  }
  if (compat.includes('adapter')) {
    await app.register(adapterAuthRoutes({ tokens: services.oauth.tokens }))
    const { memories, search } = services
    const servesOpenApiPath = !compat.includes('chatstore')
    await app.register(adapterRoutes({ apps: services.oauth.apps, memories, search, maxMemoryChars: config.maxMemoryChars, servesOpenApiPath }))
  }
  app.log.info({ compat }, 'compatibility surfaces')
  // No admin token, no admin API: its routes do not exist (404).
  if (config.adminToken !== null) {
    await app.register(adminGptRoutes({ gpts: services.gpts, ...listDeps }))
    await app.register(gptStatsRoutes({ gpts: services.gpts }, 'operator'))
    await app.register(overviewRoutes({ overview: services.overview }, 'operator'))
    await app.register(archiveRoutes(archiveDeps, 'operator'))
    await app.register(keyRoutes({ keys: services.keys, ...listDeps }, 'operator'))
    await app.register(adminAccountRoutes({ accounts: services.accounts }))
  }
  return app
}
