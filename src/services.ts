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

export interface Services {
  gpts: GptsService
  keys: KeysService
  collections: CollectionsService
  objects: ObjectsService
  agents: AgentsService
  conversations: ConversationsService
  mail: MailService
}

/** Wires every domain service over one database; the HTTP app and the CLI both use these. */
export interface ServiceDeps {
  database: Database
  config: Pick<Config, 'defaultPageSize' | 'keyTouchIntervalMs' | 'keyCacheTtlMs' | 'maxJsonDepth' | 'importMaxLines'>
  events: EventBus
  log: { warn(object: object, message: string): void }
}

export function createServices({ database, config, events, log }: ServiceDeps): Services {
  const keyCache = new KeyCache(config.keyCacheTtlMs, events, log)
  const gpts = new GptsService(new GptsRepository(database.db), config, (gptId) => keyCache.forgetGpt(gptId))
  const onBackgroundError = (error: unknown) => log.warn({ err: error }, 'background write failed')
  const agents = new AgentsService(new AgentsRepository(database.db), config, (_gptId, agentId) => keyCache.forgetAgent(agentId))
  const keys = new KeysService(new KeysRepository(database.db), gpts, agents, keyCache, {
    defaultPageSize: config.defaultPageSize,
    keyTouchIntervalMs: config.keyTouchIntervalMs,
    onTouchError: onBackgroundError,
  })
  const collections = new CollectionsService(new CollectionsRepository(database.db), config)
  const objects = new ObjectsService(
    database.db,
    new ObjectsRepository(database.db),
    collections,
    new IdempotencyStore(database.db),
    config,
  )
  const conversations = new ConversationsService(new ConversationsRepository(database.db), config)
  const mail = new MailService(new MailRepository(database.db), agents, conversations, events, config, log)
  return { gpts, keys, collections, objects, agents, conversations, mail }
}
