import { uuidv7 } from 'uuidv7'
import type { Kysely } from 'kysely'
import type { JsonObject, Tables } from '../../platform/db/tables.js'
import { AppError, ErrorCode, ERR, type FieldError } from '../../platform/errors.js'
import { pageEnd, pageRequest, toPage, type Page } from '../../platform/http/pagination.js'
import { requestFingerprint, type IdempotencyStore } from '../../platform/idempotency.js'
import type { CollectionChange } from '../collections/collections.repo.js'
import type { CollectionHandle, CollectionsService } from '../collections/collections.service.js'
import { toCollectionView } from '../collections/collections.service.js'
import type { ObjectSeek } from './objects.page.js'
import type { ListedObject, ObjectRow, ObjectsRepository, UnderRules } from './objects.repo.js'
import { toObjectView } from './objects.view.js'
import { cursorUuid, timeIdAfter } from '../../platform/http/seek.js'
import { cursorNumber, parseFilters, type ListObjectsQuery } from './objects.query.js'
import type { ObjectView } from './objects.schemas.js'
import { acceptedOrNull, checkDocument, unwrapDocument } from './objects.check.js'

export interface ObjectsLimits {
  defaultPageSize: number
  maxJsonDepth: number
  importMaxLines: number
}


/** An object and its entity tag. */
export interface Versioned {
  object: ObjectView
  etag: string
}

const EXPORT_BATCH = 500
/** Imports at least this large refresh planner statistics (autovacuum would, but only later). */
const ANALYZE_AFTER_IMPORT = 1000

const collectionChanged = () => ERR.conflict('The collection changed while the document was being stored; retry.')

export const etagOf = (row: Pick<ObjectRow, 'version'>) => `"${row.version}"`

/** RFC 9110 If-Match: `*` or a list of strong entity tags. */
function ifMatchAllows(header: string | undefined, etag: string): boolean {
  if (header === undefined) return true
  const trimmed = header.trim()
  if (trimmed === '*') return true
  return trimmed.split(',').some((candidate) => candidate.trim() === etag)
}

export class ObjectsService {
  constructor(
    private readonly db: Kysely<Tables>,
    private readonly repo: ObjectsRepository,
    private readonly collections: CollectionsService,
    private readonly idempotency: IdempotencyStore,
    private readonly limits: ObjectsLimits,
    /** Told the documents a write stored, once it is committed (they are to be embedded). */
    private readonly written: (gptId: string, ids: string[]) => void = () => {},
  ) {}

  async createObject(
    gptId: string,
    collection: string,
    payload: JsonObject,
    idempotencyKey: string | null,
    user: string | null = null,
  ): Promise<Versioned & { replayed: boolean }> {
    const document = unwrapDocument(payload)
    if (idempotencyKey === null) {
      const row = await this.insertOne(gptId, collection, document, user)
      this.written(gptId, [row.id])
      return { object: toObjectView(row), etag: etagOf(row), replayed: false }
    }
    const handle = await this.collections.requireCollection(gptId, collection)
    const body = checkDocument(handle, document, this.limits.maxJsonDepth)
    // Fingerprinted only once the document passed the depth check (a deeper one overflows JSON.stringify).
    const fingerprint = requestFingerprint('POST', `${gptId}/${collection}`, payload)
    // An end user's repeat keys are theirs.
    const key = user === null ? idempotencyKey : `${user}:${idempotencyKey}`
    const stored = await this.idempotency.run(gptId, key, fingerprint, async (trx) => {
      const row = await this.repo.insertObjectUnder(trx, this.underRules(gptId, collection, handle, body, user))
      if (!row) throw collectionChanged()
      return { status: 201, body: toObjectView(row), headers: { etag: etagOf(row) } }
    })
    const object = stored.body as ObjectView
    if (!stored.replayed) this.written(gptId, [object.id])
    return { object, etag: stored.headers.etag ?? '', replayed: stored.replayed }
  }

  /**
   * One document, in one round trip when this process has read its collection lately: the insert
   * itself confirms the rules the document was checked against. A document those rules refuse, or a
   * collection changed since, is decided again on the collection as stored now.
   */
  private async insertOne(gptId: string, collection: string, document: JsonObject, user: string | null): Promise<ObjectRow> {
    const recent = this.collections.recentCollection(gptId, collection)
    const body = recent ? acceptedOrNull(recent, document, this.limits.maxJsonDepth) : null
    const row = recent && body ? await this.repo.insertObjectSoon(this.underRules(gptId, collection, recent, body, user)) : null
    if (row) return row
    const handle = await this.collections.requireCollection(gptId, collection)
    const checked = checkDocument(handle, document, this.limits.maxJsonDepth)
    const stored = await this.repo.insertObjectSoon(this.underRules(gptId, collection, handle, checked, user))
    if (!stored) throw collectionChanged()
    return stored
  }

  /** A checked document's insert, on the condition that its collection still has `handle`'s rules; an end user's document in a per-user collection is theirs. */
  private underRules(gptId: string, collection: string, handle: CollectionHandle, body: JsonObject, user: string | null): UnderRules {
    const owner = user !== null && handle.row.per_user ? user : null
    return { row: { gpt_id: gptId, id: uuidv7(), collection, body, user_id: owner }, rules: { schemaText: handle.schemaText, perUser: handle.row.per_user } }
  }

  /**
   * One object of the GPT; another GPT's object (or one outside `collection` when given, or one an end
   * user `user` may not see) is 404.
   */
  async getObject(gptId: string, id: string, collection?: string, user: string | null = null): Promise<Versioned> {
    const row = await this.requireObject(gptId, id, collection, user)
    return { object: toObjectView(row), etag: etagOf(row) }
  }

  /** Merges top-level fields into the body (PATCH) or replaces it (PUT), re-validated; no lost updates. */
  async updateObject(
    gptId: string,
    id: string,
    change: { mode: 'merge' | 'replace'; payload: JsonObject; ifMatch?: string; collection?: string },
    user: string | null = null,
  ): Promise<Versioned> {
    const fields = unwrapDocument(change.payload)
    const apply = async (row: ObjectRow, handle: CollectionHandle, db: Kysely<Tables>) => {
      if (!ifMatchAllows(change.ifMatch, etagOf(row))) {
        throw ERR.preconditionFailed(`The object changed: its ETag is ${etagOf(row)}, not ${change.ifMatch}.`)
      }
      const next = change.mode === 'merge' ? { ...row.body, ...fields } : fields
      return this.repo.updateBody(gptId, id, row.version, checkDocument(handle, next, this.limits.maxJsonDepth), db)
    }
    // Optimistic first: one read and one conditional write, no transaction.
    const row = await this.requireObject(gptId, id, change.collection, user)
    const handle = await this.collections.requireCollection(gptId, row.collection)
    const updated = await apply(row, handle, this.db)
    if (updated) {
      this.written(gptId, [id])
      return { object: toObjectView(updated), etag: etagOf(updated) }
    }
    // Changed between read and write: with If-Match that is a failed precondition.
    if (change.ifMatch !== undefined) throw ERR.preconditionFailed('The object changed while it was being updated.')
    // Without If-Match, merge again holding the row lock, so that no concurrent change is lost and a
    // busy document is not a 409. (Only the transaction's connection is used inside: PGlite has one.)
    const locked = await this.db.transaction().execute(async (trx) => {
      const current = await this.repo.findObject(gptId, id, trx, true)
      if (!current) throw ERR.notFound('Object', id)
      return apply(current, handle, trx)
    })
    if (!locked) throw ERR.conflict('The object is being changed by other requests; retry.')
    this.written(gptId, [id])
    return { object: toObjectView(locked), etag: etagOf(locked) }
  }

  async deleteObject(gptId: string, id: string, options: { ifMatch?: string; collection?: string } = {}, user: string | null = null): Promise<void> {
    const row = await this.requireObject(gptId, id, options.collection, user)
    if (!ifMatchAllows(options.ifMatch, etagOf(row))) {
      throw ERR.preconditionFailed(`The object changed: its ETag is ${etagOf(row)}, not ${options.ifMatch}.`)
    }
    const deleted = await this.repo.deleteObject(gptId, id, options.ifMatch === undefined ? null : row.version)
    if (!deleted && options.ifMatch !== undefined) throw ERR.preconditionFailed('The object changed while it was being deleted.')
  }

  async listObjects(gptId: string, collection: string, query: ListObjectsQuery, user: string | null = null): Promise<Page<ListedObject>> {
    const list = await this.planList(gptId, collection, query, user)
    const rows = await this.repo.listObjects(gptId, collection, list.filters, list.seek)
    if (rows.length === 0 && user === null) await this.collections.requireCollection(gptId, collection)
    return toPage(rows, list.page, list.keyOf)
  }

  /** The same page with its documents as one JSON text, as PostgreSQL wrote them (see listObjectsText in the repository): for an answer sent as it is. */
  async listObjectsText(gptId: string, collection: string, query: ListObjectsQuery, user: string | null = null): Promise<{ items: string; nextCursor: string | null; hasMore: boolean }> {
    const list = await this.planList(gptId, collection, query, user)
    const written = await this.repo.listObjectsText(gptId, collection, list.filters, list.seek)
    if (written.found === 0 && user === null) await this.collections.requireCollection(gptId, collection)
    return { items: written.items, ...pageEnd(list.page, written.found, written.last, list.keyOf) }
  }

  /** A list request read into the repository's filters and seek, with its page and the sort key its cursor carries. */
  private async planList(gptId: string, collection: string, query: ListObjectsQuery, user: string | null) {
    // An end user's page depends on the collection's sharing. Anyone else's reads the collection only
    // when the page is empty, to tell an empty collection from a missing one (a document has its collection).
    const perUser = user !== null && (await this.collections.requireCollection(gptId, collection)).row.per_user
    const filters = { ...parseFilters(query), ...(perUser ? { userId: user } : {}) }
    const by = filters.q !== null ? 'rank' : (query.sort ?? 'created_at')
    // The cursor belongs to this collection, sort and order: a cursor from another list is refused.
    const page = pageRequest(query, `objects:${gptId}/${collection}:${by}`, { defaultPageSize: this.limits.defaultPageSize, order: 'desc' })
    let seek: ObjectSeek
    if (by === 'rank') {
      const after = page.after ? ([cursorNumber(page.after[0]), cursorUuid(page.after[1])] as [number, string]) : null
      seek = { by, limit: page.limit, after }
    } else {
      seek = { by, order: page.order, limit: page.limit, after: timeIdAfter(page) }
    }
    const keyOf = (row: { id: string; created_at: Date; updated_at: Date; rank: number | null }) =>
      by === 'rank' ? [row.rank, row.id] : [(by === 'updated_at' ? row.updated_at : row.created_at).toISOString(), row.id]
    return { filters, seek, page, keyOf }
  }

  /** NDJSON lines of every document, oldest first, produced batch by batch. */
  async *exportObjects(gptId: string, collection: string): AsyncGenerator<string> {
    for await (const rows of this.repo.scanCollection(gptId, collection, EXPORT_BATCH)) {
      yield rows.map((row) => `${JSON.stringify(toObjectView(row))}\n`).join('')
    }
  }

  async requireExportable(gptId: string, collection: string): Promise<void> {
    await this.collections.requireCollection(gptId, collection)
  }

  /**
   * Imports NDJSON (one document per line, plain or `{"body": …}`), all or nothing: every line is
   * checked first and any failure is reported with its line number, with nothing stored.
   */
  async importObjects(gptId: string, collection: string, text: string): Promise<{ imported: number }> {
    const handle = await this.collections.requireCollection(gptId, collection)
    const documents: JsonObject[] = []
    const errors: FieldError[] = []
    const lines = text.split('\n')
    let count = 0
    for (const [index, raw] of lines.entries()) {
      const line = raw.trim()
      if (line === '') continue
      if (++count > this.limits.importMaxLines) {
        throw ERR.payloadTooLarge(`An import may hold at most ${this.limits.importMaxLines} documents (IMPORT_MAX_LINES).`)
      }
      let parsed: unknown
      try {
        parsed = JSON.parse(line)
      } catch {
        errors.push({ line: index + 1, pointer: '', message: 'is not valid JSON' })
        continue
      }
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
        errors.push({ line: index + 1, pointer: '', message: 'must be a JSON object' })
        continue
      }
      try {
        documents.push(checkDocument(handle, unwrapDocument(parsed as JsonObject), this.limits.maxJsonDepth))
      } catch (error) {
        if (!(error instanceof AppError)) throw error
        for (const fieldError of error.extra.errors ?? [{ pointer: '', message: error.detail }]) {
          errors.push({ line: index + 1, pointer: fieldError.pointer, message: fieldError.message })
        }
      }
    }
    if (errors.length > 0) {
      throw new AppError(ErrorCode.BadRequest, `${new Set(errors.map((e) => e.line)).size} line(s) failed; nothing was imported.`, {
        errors,
      })
    }
    const ids = documents.map(() => uuidv7())
    await this.db.transaction().execute(async (trx) => {
      for (let start = 0; start < documents.length; start += EXPORT_BATCH) {
        const batch = documents.slice(start, start + EXPORT_BATCH)
        await this.repo.insertObjects(trx, batch.map((body, index) => ({ gpt_id: gptId, id: ids[start + index]!, collection, body })))
      }
    })
    this.written(gptId, ids)
    if (documents.length >= ANALYZE_AFTER_IMPORT) await this.repo.analyzeObjects()
    return { imported: documents.length }
  }

  /** Changes a collection's schema or sharing, and reports how many stored documents fail its schema (they are kept). */
  async changeCollection(gptId: string, collection: string, change: CollectionChange) {
    const handle = await this.collections.updateCollection(gptId, collection, change)
    let invalid = 0
    if (handle.validate) {
      for await (const rows of this.repo.scanCollection(gptId, collection, EXPORT_BATCH)) {
        for (const row of rows) if (!handle.validate(row.body)) invalid++
      }
    }
    return { ...toCollectionView(handle.row), invalid_documents: invalid }
  }

  private async requireObject(gptId: string, id: string, collection: string | undefined, user: string | null): Promise<ObjectRow> {
    const row = await this.repo.findObject(gptId, id)
    if (!row || (collection !== undefined && row.collection !== collection) || !(await this.visible(gptId, row, user))) throw ERR.notFound('Object', id)
    return row
  }

  /** An end user sees their own documents and those of shared collections; everyone else sees all. */
  private async visible(gptId: string, row: ObjectRow, user: string | null): Promise<boolean> {
    if (user === null) return true
    if (row.user_id !== null) return row.user_id === user
    return !(await this.collections.requireCollection(gptId, row.collection)).row.per_user
  }
}
