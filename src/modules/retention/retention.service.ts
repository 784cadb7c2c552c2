import { deleteInBatches, PURGE_BATCH_ROWS, type PurgeMetrics } from '../../platform/jobs/batched-purge.js'
import type { SessionsRepository } from '../chat/sessions.repo.js'
import type { CollectionsRepository } from '../collections/collections.repo.js'
import type { GptsService } from '../gpts/gpts.service.js'
import type { MailRepository } from '../mail/mail.repo.js'
import type { MemoryHistoryRepository } from '../memories/memories.history.repo.js'
import type { ObjectsRepository } from '../objects/objects.repo.js'

export interface RetentionDeps {
  collections: CollectionsRepository
  objects: ObjectsRepository
  gpts: GptsService
  sessions: SessionsRepository
  mail: MailRepository
  /** Expired memories are deleted with an `expire` entry in their history. */
  memories: MemoryHistoryRepository
  metrics: PurgeMetrics
  /** Rows per DELETE (tests make it small to see several batches). */
  batchSize?: number
}

/** What one purge did: rows deleted by kind, and the statements it took. */
export type PurgeCounts = Record<string, number>

/**
 * The retention purges: documents past their collection's TTL, expired memories, and the chat sessions and mail of
 * the GPTs that keep them for a limited number of days. Each deletes in bounded batches, one GPT
 * (and collection) at a time, and records its rows in /metrics.
 */
export class RetentionService {
  private readonly batchSize: number

  constructor(private readonly deps: RetentionDeps) {
    this.batchSize = deps.batchSize ?? PURGE_BATCH_ROWS
  }

  /** Deletes the documents that have expired (they have been invisible since). */
  async purgeExpiredDocuments(signal?: AbortSignal): Promise<PurgeCounts> {
    let documents = 0
    let batches = 0
    for (const collection of await this.deps.collections.withTtl()) {
      const done = await deleteInBatches((limit) => this.deps.objects.deleteExpired(collection.gpt_id, collection.name, limit), this.batchSize, signal)
      documents += done.rows
      batches += done.batches
    }
    this.deps.metrics.record('documents', documents)
    return { documents, batches }
  }

  /** Deletes the memories past their expires_at (hidden since), oldest expiry first, across GPTs. */
  async purgeExpiredMemories(signal?: AbortSignal): Promise<PurgeCounts> {
    const done = await deleteInBatches((limit) => this.deps.memories.purgeExpired(limit), this.batchSize, signal)
    this.deps.metrics.record('memories', done.rows)
    return { memories: done.rows, batches: done.batches }
  }

  /** Deletes the sessions (messages first, a batch at a time) idle for longer than their GPT keeps them. */
  async purgeOldSessions(signal?: AbortSignal): Promise<PurgeCounts> {
    let sessions = 0
    let messages = 0
    let batches = 0
    for (const gpt of await this.deps.gpts.withRetention('sessions')) {
      const gone = await deleteInBatches((limit) => this.deps.sessions.deleteMessagesOfIdle(gpt.id, gpt.days, limit), this.batchSize, signal)
      const idle = await deleteInBatches((limit) => this.deps.sessions.deleteIdle(gpt.id, gpt.days, limit), this.batchSize, signal)
      messages += gone.rows
      sessions += idle.rows
      batches += gone.batches + idle.batches
    }
    this.deps.metrics.record('sessions', sessions)
    this.deps.metrics.record('chat_messages', messages)
    return { sessions, messages, batches }
  }

  /** Deletes the mail sent longer ago than its GPT keeps it. */
  async purgeOldMail(signal?: AbortSignal): Promise<PurgeCounts> {
    let mail = 0
    let batches = 0
    for (const gpt of await this.deps.gpts.withRetention('mail')) {
      const done = await deleteInBatches((limit) => this.deps.mail.deleteOlderThan(gpt.id, gpt.days, limit), this.batchSize, signal)
      mail += done.rows
      batches += done.batches
    }
    this.deps.metrics.record('mail', mail)
    return { mail, batches }
  }
}
