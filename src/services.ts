import { BackupService } from './modules/backups/backups.service.js'
import type { Config } from './config.js'
import type { Database } from './platform/db/database.js'
import { GptsRepository } from './modules/gpts/gpts.repo.js'
import { GptsService } from './modules/gpts/gpts.service.js'
import { AgentsRepository } from './modules/agents/agents.repo.js'
import { AgentsService } from './modules/agents/agents.service.js'
import { ConversationsRepository } from './modules/mail/conversations.repo.js'
import { ConversationsService } from './modules/mail/conversations.service.js'
import { MailRepository } from './modules/mail/mail.repo.js'
import { MailService } from './modules/mail/mail.service.js'
import { CollectionsRepository } from './modules/collections/collections.repo.js'
import { CollectionsService } from './modules/collections/collections.service.js'
import { ObjectsRepository } from './modules/objects/objects.repo.js'
import { ObjectsService } from './modules/objects/objects.service.js'
import { IdempotencyStore } from './platform/idempotency.js'
import type { EventBus } from './platform/events/event-bus.js'
import { KeyCache } from './modules/keys/key-cache.js'
import { KeysRepository } from './modules/keys/keys.repo.js'
import { KeysService } from './modules/keys/keys.service.js'
import { CharactersRepository } from './modules/characters/characters.repo.js'
import { CharactersService } from './modules/characters/characters.service.js'
import { SessionsRepository } from './modules/chat/sessions.repo.js'
import { SessionsService } from './modules/chat/sessions.service.js'
import { MessagesRepository } from './modules/chat/messages.repo.js'
import { MessagesService } from './modules/chat/messages.service.js'
import type { WrittenMessage } from './modules/chat/messages.schemas.js'
import { AutoExtractionCache } from './modules/extraction/extraction.auto-cache.js'
import { Registry } from 'prom-client'
import { ConsoleSessionsRepository } from './modules/console/console-sessions.repo.js'
import { ConsoleSessionsService } from './modules/console/console-sessions.service.js'
import type { AccountsService } from './modules/accounts/accounts.service.js'
import type { LoginThrottleOptions } from './modules/accounts/login-throttle.js'
import { createAccounts } from './services.accounts.js'
import type { SigningKeyStore } from './platform/auth/signing-keys.js'
import { createLlmProvider } from './platform/llm/index.js'
import { GenerationCanceller } from './modules/chat/generation.cancel.js'
import { GenerationHub } from './modules/chat/generation.hub.js'
import { GenerationRepository } from './modules/chat/generation.repo.js'
import { GenerationService } from './modules/chat/generation.service.js'
import type { EmbeddingsProvider } from './platform/embeddings/embeddings.provider.js'
import type { JobQueue } from './platform/jobs/jobs.queue.js'
import { MemoriesService } from './modules/memories/memories.service.js'
import { ChangedItems } from './modules/search/embeddings.changed.job.js'
import type { VectorBackend } from './modules/search/vector-store.js'
import { createMemory } from './services.memory.js'
import { createExtraction } from './services.extraction.js'
import type { ExtractionService } from './modules/extraction/extraction.service.js'
import type { Embedder } from './modules/search/embedder.js'
import type { EmbeddingWorker } from './modules/search/embedding-worker.js'
import type { SearchService } from './modules/search/search.service.js'
import { NO_AUDIT } from './platform/audit/audit.js'
import { throttledWarning } from './platform/logger.js'
import { AuditRepository } from './modules/audit/audit.repo.js'
import { AuditService } from './modules/audit/audit.service.js'
import { AuditWriter } from './modules/audit/audit.writer.js'
import { buildCatalogue, type Catalogue } from './modules/catalogue/catalogue.js'
import { exposureCheck } from './modules/actions/actions.exposure.js'
import { createOAuth, type OAuthServices } from './services.oauth.js'
import { RetentionService } from './modules/retention/retention.service.js'
import { PurgeMetrics } from './platform/jobs/batched-purge.js'
import { ArchiveService } from './modules/archive/archive.service.js'
import { OverviewService } from './modules/overview/overview.service.js'
import { RequestMinutes } from './platform/metrics.minutes.js'
import { JobRuns } from './platform/jobs/job-runs.js'

export interface Services {
  gpts: GptsService
  keys: KeysService
  collections: CollectionsService
  objects: ObjectsService
  agents: AgentsService
  conversations: ConversationsService
  mail: MailService
  characters: CharactersService
  sessions: SessionsService
  messages: MessagesService
  memories: MemoriesService
  search: SearchService
  generation: GenerationService
  /** Memories extracted from chat sessions, on request and per character after N turns. */
  extraction: ExtractionService
  /** Live AI replies: deltas to this process's followers, progress to the others. */
  generationHub: GenerationHub
  generationCanceller: GenerationCanceller
  /** Embeds outside requests (background jobs, `agentstore reindex`). */
  embeddingWorker: EmbeddingWorker
  /** The documents and chat messages written here, on their way to the embedding job; flushed at stop. */
  changedItems: ChangedItems
  embedder: Embedder
  /** Metrics of the services (embeddings), shown by /metrics beside the HTTP ones. */
  registry: Registry
  accounts: AccountsService
  /** The ES256 keys that sign access tokens (JWKS). */
  signingKeys: SigningKeyStore
  audit: AuditService
  /** Where requests and identity events are recorded (null: AUDIT=off); close() writes what is buffered. */
  auditWriter: AuditWriter | null
  /** The OAuth 2.1 authorization server: apps, the consent page, tokens, and access-token checks. */
  oauth: OAuthServices
  /** Backups of the whole database to BACKUP_DIR (the scheduled job, the CLI, /ready and /metrics). */
  backups: BackupService
  /** The retention purges (expired documents, old sessions and mail), for their jobs. */
  retention: RetentionService
  /** The agent-facing operations (MCP tools, GPT Action operations), over the services above. */
  catalogue: Catalogue
  /** Sign-ins to the admin console (/admin). */
  console: ConsoleSessionsService
  /** The archive of one GPT: export, and import into an empty GPT. */
  archive: ArchiveService
  /** The console's overview; it holds this process's per-minute request samples and job runs. */
  overview: OverviewService
}

/** Wires every domain service over one database; the HTTP app and the CLI both use these. */
export interface ServiceDeps {
  database: Database
  config: Pick<
    Config,
    | 'defaultPageSize'
    | 'keyTouchIntervalMs'
    | 'keyCacheTtlMs'
    | 'maxJsonDepth'
    | 'importMaxLines'
    | 'llm'
    | 'chatHistoryMessages'
    | 'partialSaveMs'
    | 'generationLeaseMs'
    | 'publicUrl'
    | 'accounts'
    | 'audit'
    | 'backups'
    | 'hnsw'
    | 'databaseUrl'
    | 'maxPageSize'
    | 'maxMemoryChars'
    | 'memory'
    | 'extraction'
    | 'maxMessageChars'
    | 'maxRecipients'
    | 'maxMailChars'
    | 'adminToken'
    | 'consoleSessionTtlSeconds'
  >
  events: EventBus
  log: { warn(object: object, message: string): void }
  embeddings: { provider: EmbeddingsProvider; backend: VectorBackend }
  /** The background job queue, once there is one (none: memories, documents and messages wait for a process that runs jobs). */
  jobs?: () => JobQueue | null
  /** Failed-login delays (tests shorten or lengthen them). */
  loginThrottle?: LoginThrottleOptions
}

export function createServices({ database, config, events, log, embeddings, jobs = () => null, loginThrottle }: ServiceDeps): Services {
  const keyCache = new KeyCache(config.keyCacheTtlMs, events, log)
  const registry = new Registry()
  const auditRepo = new AuditRepository(database.db)
  const auditWriter = config.audit.enabled
    ? new AuditWriter(auditRepo, {
        flushMs: config.audit.flushMs,
        batchSize: config.audit.batchSize,
        maxBuffer: config.audit.maxBuffer,
        registry,
        onError: throttledWarning(log, 'audit rows not written yet; kept in memory (the oldest are dropped past AUDIT_BUFFER_ROWS)'),
      })
    : null
  const auditSink = auditWriter ?? NO_AUDIT
  const gpts = new GptsService(new GptsRepository(database.db), config, {
    afterDelete: (gptId) => keyCache.forgetGpt(gptId),
    // The catalogue is built from services made below; a GPT is changed only once they all exist.
    checkExposure: (gpt, exposure) => checkExposure(gpt, exposure),
  })
  const onBackgroundError = (error: unknown) => log.warn({ err: error }, 'background write failed')
  const agents = new AgentsService(new AgentsRepository(database.db), config, (_gptId, agentId) => keyCache.forgetAgent(agentId))
  const keys = new KeysService(new KeysRepository(database.db), gpts, agents, keyCache, {
    defaultPageSize: config.defaultPageSize,
    keyTouchIntervalMs: config.keyTouchIntervalMs,
    onTouchError: onBackgroundError,
  }, auditSink)
  const collectionsRepo = new CollectionsRepository(database.db)
  const collections = new CollectionsService(collectionsRepo, config)
  const changedItems = new ChangedItems(jobs, log)
  const objectsRepo = new ObjectsRepository(database.db)
  const objects = new ObjectsService(
    database.db,
    objectsRepo,
    collections,
    new IdempotencyStore(database.db),
    config,
    (gptId, ids) => changedItems.add('objects', gptId, ids),
  )
  const conversations = new ConversationsService(new ConversationsRepository(database.db), config)
  const mailRepo = new MailRepository(database.db)
  const mail = new MailService(mailRepo, agents, conversations, events, config, log)
  const characters = new CharactersService(new CharactersRepository(database.db), config, (gptId): Promise<void> => autoExtraction.forget(gptId))
  const autoExtraction = new AutoExtractionCache((gptId) => characters.autoExtraction(gptId), events, log)
  const sessionsRepo = new SessionsRepository(database.db)
  const sessions = new SessionsService(sessionsRepo, characters, config)
  const generationHub = new GenerationHub(events, log)
  const messagesRepo = new MessagesRepository(database.db)
  const idempotency = new IdempotencyStore(database.db)
  const messages = new MessagesService(
    database.db,
    messagesRepo,
    sessionsRepo,
    sessions,
    idempotency,
    config,
    (gptId, id) => {
      generationHub.emit(id, { type: 'changed' })
      generationHub.announce(gptId, id)
    },
    (gptId, written) => messagesWritten(gptId, written),
  )
  // Written messages are embedded, and counted for automatic extraction (made below, called later).
  const messagesWritten = (gptId: string, written: WrittenMessage[]) => {
    changedItems.add('messages', gptId, written.map((message) => message.id))
    extraction.noticeMessages(gptId, written)
  }
  const { store, embedder, embeddingWorker, memories, memoryHistory, search, recall } = createMemory({ database, config, embeddings, registry, jobs, log })
  const llm = createLlmProvider(config.llm)
  const extraction = createExtraction({ database, config, llm, sessions, messages, auto: autoExtraction, memories, search, registry, jobs, log })
  const generationRepo = new GenerationRepository(database.db)
  const generation = new GenerationService({
    db: database.db,
    repo: generationRepo,
    messagesRepo,
    sessionsRepo,
    sessions,
    characters,
    llm,
    hub: generationHub,
    idempotency,
    recall,
    limits: config,
    log,
    written: messagesWritten,
  })
  const generationCanceller = new GenerationCanceller({ generation, repo: generationRepo, hub: generationHub, leaseMs: config.generationLeaseMs })
  const { signingKeys, accountSessions, accounts, oauthCache, throttle } = createAccounts({ database, config, events, log, gpts, keyCache, audit: auditSink, loginThrottle })
  const oauth = createOAuth({ database, config, signingKeys, gpts, cache: oauthCache, throttle, audit: auditSink })
  const catalogue = buildCatalogue({ collections, objects, memories, search, sessions, messages, generation, mail, conversations }, config)
  const checkExposure = exposureCheck(catalogue, collections)
  const purgeMetrics = new PurgeMetrics(registry)
  const retention = new RetentionService({ collections: collectionsRepo, objects: objectsRepo, gpts, sessions: sessionsRepo, mail: mailRepo, memories: memoryHistory, metrics: purgeMetrics })
  const backups = new BackupService(database, { ...config.backups, databaseUrl: config.databaseUrl }, registry)
  const overview = new OverviewService({ gpts, embeddingWorker, backups, minutes: new RequestMinutes(), jobRuns: new JobRuns() })
  return {
    overview,
    retention,
    catalogue,
    console: new ConsoleSessionsService(new ConsoleSessionsRepository(database.db), accountSessions, { adminToken: config.adminToken, ttlSeconds: config.consoleSessionTtlSeconds, audit: auditSink }),
    archive: new ArchiveService({
      db: database.db,
      gpts,
      memories,
      store,
      changed: changedItems,
      charactersWritten: (gptId) => autoExtraction.forget(gptId),
      limits: config,
    }),
    oauth,
    audit: new AuditService(auditRepo, gpts, config),
    auditWriter,
    accounts,
    signingKeys,
    gpts,
    keys,
    collections,
    objects,
    agents,
    conversations,
    mail,
    characters,
    sessions,
    messages,
    memories,
    search,
    generation,
    extraction,
    generationHub,
    generationCanceller,
    embeddingWorker,
    changedItems,
    embedder,
    registry,
    backups,
  }
}
