import { uuidv7 } from 'uuidv7'
import type { Kysely } from 'kysely'
import type { JsonObject, Tables } from '../../platform/db/tables.js'
import { AppError, ErrorCode, ERR, type FieldError } from '../../platform/errors.js'
import { pageRequest, toPage, type Page } from '../../platform/http/pagination.js'
import { requestFingerprint, type IdempotencyStore } from '../../platform/idempotency.js'
import { exceedsDepth, findUnstorableText } from '../../platform/json-depth.js'
import { documentErrors } from '../../platform/json-schema.js'
import type { CollectionChange } from '../collections/collections.repo.js'
import type { CollectionHandle, CollectionsService } from '../collections/collections.service.js'
import { toCollectionView } from '../collections/collections.service.js'
import type { ListedObject, ObjectRow, ObjectsRepository, ObjectSeek } from './objects.repo.js'
import { cursorUuid, timeIdAfter } from '../../platform/http/seek.js'
import { cursorNumber, parseFilters, type ListObjectsQuery } from './objects.query.js'
import type { ObjectView } from './objects.schemas.js'

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

export const etagOf = (row: Pick<ObjectRow, 'version'>) => `"${row.version}"`

export function toObjectView(row: ObjectRow): ObjectView {
  const { id, gpt_id, collection, body } = row
  const created_at = row.created_at.toISOString()
  const updated_at = row.updated_at.toISOString()
  // Two literal shapes rather than a spread in the middle: a page maps 50 rows.
  return row.user_id === null
    ? { id, gpt_id, collection, body, created_at, updated_at }
    : { id, gpt_id, collection, body, user_id: row.user_id, created_at, updated_at }
}

/** GPT Actions send the document itself; `{"body": {…}}` alone is the envelope form. */
export function unwrapDocument(payload: JsonObject): JsonObject {
  const keys = Object.keys(payload)
  const inner = payload.body
  if (keys.length === 1 && keys[0] === 'body' && inner !== null && typeof inner === 'object' && !Array.isArray(inner)) {
    return inner
  }
  return payload
}

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
    const handle = await this.collections.requireCollection(gptId, collection)
    const body = this.checkDocument(handle, unwrapDocument(payload))
    // An end user's document in a per-user collection is theirs; their repeat keys are theirs too.
    const owner = user !== null && handle.row.per_user ? user : null
    const insert = async (db: Kysely<Tables>) => {
      const [row] = await this.repo.insertObjects(db, [{ gpt_id: gptId, id: uuidv7(), collection, body, user_id: owner }])
      return row!
    }
    if (idempotencyKey === null) {
      const row = await insert(this.db)
      this.written(gptId, [row.id])
      return { object: toObjectView(row), etag: etagOf(row), replayed: false }
    }
    // Fingerprinted only once the document passed the depth check (a deeper one overflows JSON.stringify).
    const fingerprint = requestFingerprint('POST', `${gptId}/${collection}`, payload)
    const key = user === null ? idempotencyKey : `${user}:${idempotencyKey}`
    const stored = await this.idempotency.run(gptId, key, fingerprint, async (trx) => {
      const row = await insert(trx)
      return { status: 201, body: toObjectView(row), headers: { etag: etagOf(row) } }
    })
    const object = stored.body as ObjectView
    if (!stored.replayed) this.written(gptId, [object.id])
    return { object, etag: stored.headers.etag ?? '', replayed: stored.replayed }
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
      return this.repo.updateBody(gptId, id, row.version, this.checkDocument(handle, next), db)
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
    const handle = await this.collections.requireCollection(gptId, collection)
    const filters = { ...parseFilters(query), ...(user !== null && handle.row.per_user ? { userId: user } : {}) }
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
    const rows = await this.repo.listObjects(gptId, collection, filters, seek)
    return toPage(rows, page, (row) =>
      by === 'rank' ? [row.rank, row.id] : [(by === 'updated_at' ? row.updated_at : row.created_at).toISOString(), row.id],
    )
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
        documents.push(this.checkDocument(handle, unwrapDocument(parsed as JsonObject)))
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

  /** Bounded depth, then the collection's schema: 422 for the shape, 400 for the schema. */
  private checkDocument(handle: CollectionHandle, body: JsonObject): JsonObject {
    if (exceedsDepth(body, this.limits.maxJsonDepth)) {
      throw ERR.validation(`The document nests deeper than ${this.limits.maxJsonDepth} levels (MAX_JSON_DEPTH).`, [
        { pointer: '', message: `must not nest deeper than ${this.limits.maxJsonDepth} levels` },
      ])
    }
    const unstorable = findUnstorableText(body)
    if (unstorable) throw ERR.validation('The document holds text that cannot be stored.', [unstorable])
    if (handle.validate) {
      const errors = documentErrors(handle.validate, body)
      if (errors.length > 0) {
        throw new AppError(ErrorCode.BadRequest, `The document does not match the schema of collection "${handle.row.name}".`, {
          errors,
        })
      }
    }
    return body
  }
}
