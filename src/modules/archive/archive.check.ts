import { createHash } from 'node:crypto'
import { Ajv2020 } from 'ajv/dist/2020.js'
import type { ValidateFunction } from 'ajv'
import { uuidv7 } from 'uuidv7'
import type { FieldError } from '../../platform/errors.js'
import { fieldErrorsFromAjv } from '../../platform/http/problem.plugin.js'
import { addFormats } from '../../platform/http/validation.js'
import { exceedsDepth, findUnstorableText } from '../../platform/json-depth.js'
import { compileCollectionSchema, documentErrors, releaseCollectionSchema } from '../../platform/json-schema.js'
import {
  ARCHIVE_FORMAT,
  ARCHIVE_VERSION,
  ArchiveHeader,
  ArchiveTrailer,
  RECORD_TYPES,
  recordSchemas,
  type AnyRecord,
  type ArchiveLimits,
  type RecordType,
} from './archive.format.js'
import { parseObject, readLines } from './archive.lines.js'

/** What a checked archive holds, and the new id of every record that has one. */
export interface ImportPlan {
  header: ArchiveHeader
  counts: Record<RecordType, number>
  /** `<type>:<id in the archive>` → the id it gets here. */
  ids: Map<string, string>
}

/** A refused line: where, which record type, and why. */
export type RefusedLine = FieldError & { line: number; record: string }

const MAX_ERRORS = 100

const ajv = new Ajv2020({ allErrors: true, strict: false })
addFormats(ajv)
// Compiled on the first import, not when the service starts (a tenth of a second of each start).
let headerCheck: ValidateFunction | undefined
let trailerCheck: ValidateFunction | undefined

// Compiled once per set of limits: ajv keeps every schema it compiles, so compiling per import would grow.
const compiled = new Map<string, Record<RecordType, ValidateFunction>>()

function recordChecks(limits: ArchiveLimits): Record<RecordType, ValidateFunction> {
  const key = [limits.maxMemoryChars, limits.maxMessageChars, limits.maxMailChars, limits.maxJsonDepth].join()
  let checks = compiled.get(key)
  if (!checks) {
    const schemas = recordSchemas(limits)
    checks = Object.fromEntries(RECORD_TYPES.map((type) => [type, ajv.compile(schemas[type])])) as Record<RecordType, ValidateFunction>
    compiled.set(key, checks)
  }
  return checks
}

/**
 * Reads an archive file through once, without writing anything: the header, every record against
 * its schema and the instance's limits, every reference against the records before it (a mail's
 * parent against all mail), and the trailer's counts and SHA-256. Gives the plan, or every refusal.
 */
export async function checkArchive(file: string, limits: ArchiveLimits): Promise<{ plan: ImportPlan } | { errors: RefusedLine[]; total: number }> {
  const checks = recordChecks(limits)
  const errors: RefusedLine[] = []
  let total = 0
  const refuse = (line: number, record: string, message: string, pointer = '') => {
    total++
    if (errors.length < MAX_ERRORS) errors.push({ line, record, pointer, message })
  }
  const hash = createHash('sha256')
  const counts = Object.fromEntries(RECORD_TYPES.map((type) => [type, 0])) as Record<RecordType, number>
  const ids = new Map<string, string>()
  const collections = new Map<string, ValidateFunction | null>()
  const agentNames = new Set<string>()
  const entities = new Set<string>()
  const perSession = new Set<string>()
  const parents: { line: number; id: string }[] = []
  let header: ArchiveHeader | null = null
  let trailer: { line: number; value: Record<string, unknown> } | null = null
  let last = -1
  let lastLine = 0
  const known = (type: RecordType, id: string | null) => id === null || ids.has(`${type}:${id}`)

  for await (const { number, text } of readLines(file)) {
    lastLine = number
    if (trailer) {
      refuse(number, 'end', 'follows the trailer line, which must be the last')
      continue
    }
    const parsed = parseObject(text)
    if ('error' in parsed) {
      refuse(number, number === 1 ? 'header' : 'unknown', parsed.error)
      if (number === 1) break
      hash.update(`${text}\n`)
      continue
    }
    const value = parsed.value
    if (number === 1) {
      const problem = headerProblem(value)
      if (problem) {
        refuse(1, 'header', problem.message, problem.pointer)
        break
      }
      header = value as ArchiveHeader
      hash.update(`${text}\n`)
      continue
    }
    if (value.type === 'end') {
      trailer = { line: number, value }
      continue
    }
    hash.update(`${text}\n`)
    const type = value.type as RecordType
    const order = RECORD_TYPES.indexOf(type)
    if (order < 0) {
      refuse(number, String(value.type ?? 'unknown'), `"type" must be one of ${RECORD_TYPES.join(', ')}, or "end" on the last line`, '/type')
      continue
    }
    if (order < last) refuse(number, type, `${type} records must come before ${RECORD_TYPES[last]} records`, '/type')
    last = Math.max(last, order)
    counts[type]++
    const { type: _type, ...body } = value
    if (!checks[type](body)) {
      for (const error of fieldErrorsFromAjv(checks[type].errors ?? [])) refuse(number, type, error.message, error.pointer)
      continue
    }
    const unstorable = findUnstorableText(body)
    if (unstorable) refuse(number, type, unstorable.message, unstorable.pointer)
    const record = value as AnyRecord
    const id = 'id' in record ? record.id : null
    if (id !== null && ids.has(`${type}:${id}`)) refuse(number, type, `a ${type} with this id comes earlier in the archive`, '/id')
    const problems = referenceProblems(record, { collections, agentNames, entities, perSession, known, parents, line: number, maxDepth: limits.maxJsonDepth })
    for (const problem of problems) refuse(number, type, problem.message, problem.pointer)
    if (id !== null && !ids.has(`${type}:${id}`)) ids.set(`${type}:${id}`, uuidv7())
  }
  for (const validate of collections.values()) if (validate) releaseCollectionSchema(validate.schema as Record<string, unknown>)
  for (const parent of parents) if (!ids.has(`mail:${parent.id}`)) refuse(parent.line, 'mail', 'names a parent mail that is not in the archive', '/parent_id')
  if (header && !trailer) refuse(lastLine + 1, 'end', 'the archive ends without its trailer line: it was cut short')
  if (header && trailer) {
    trailerCheck ??= ajv.compile(ArchiveTrailer)
    if (!trailerCheck(trailer.value)) {
      for (const error of fieldErrorsFromAjv(trailerCheck.errors ?? [])) refuse(trailer.line, 'end', error.message, error.pointer)
    } else {
      const end = trailer.value as ArchiveTrailer
      const digest = hash.digest('hex')
      if (end.sha256 !== digest) refuse(trailer.line, 'end', `the SHA-256 of the lines before the trailer is ${digest}, not the one recorded: the archive was changed or cut`, '/sha256')
      for (const type of RECORD_TYPES) {
        if ((end.counts[type] ?? 0) !== counts[type]) refuse(trailer.line, 'end', `records ${end.counts[type] ?? 0} ${type} lines, the archive holds ${counts[type]}`, `/counts/${type}`)
      }
    }
  }
  if (errors.length > 0 || !header) return { errors, total }
  return { plan: { header, counts, ids } }
}

function headerProblem(value: Record<string, unknown>): { pointer: string; message: string } | null {
  if (value.format !== ARCHIVE_FORMAT) return { pointer: '/format', message: `the first line must be an archive header with "format": "${ARCHIVE_FORMAT}"` }
  if (value.version !== ARCHIVE_VERSION) {
    return { pointer: '/version', message: `archive version ${JSON.stringify(value.version)} is not one this Agentstore reads (it reads version ${ARCHIVE_VERSION})` }
  }
  headerCheck ??= ajv.compile(ArchiveHeader)
  if (!headerCheck(value)) return fieldErrorsFromAjv(headerCheck.errors ?? [])[0]!
  return null
}

interface Seen {
  collections: Map<string, ValidateFunction | null>
  agentNames: Set<string>
  entities: Set<string>
  /** `<what>:<session id>` of what a session has at most one of: its cursor, its run waiting to start. */
  perSession: Set<string>
  known(type: RecordType, id: string | null): boolean
  parents: { line: number; id: string }[]
  line: number
  maxDepth: number
}

/** The checks of one record against the records before it: names, references, schemas. */
function referenceProblems(record: AnyRecord, seen: Seen): { pointer: string; message: string }[] {
  const problems: { pointer: string; message: string }[] = []
  const need = (ok: boolean, pointer: string, message: string) => {
    if (!ok) problems.push({ pointer, message })
  }
  switch (record.type) {
    case 'collection': {
      need(!seen.collections.has(record.name), '/name', 'a collection of this name comes earlier in the archive')
      try {
        seen.collections.set(record.name, record.schema ? compileCollectionSchema(record.schema) : null)
      } catch (error) {
        const extra = (error as { extra?: { errors?: FieldError[] } }).extra
        for (const fieldError of extra?.errors ?? [{ pointer: '/schema', message: (error as Error).message }]) need(false, fieldError.pointer, fieldError.message)
      }
      break
    }
    case 'document': {
      const validate = seen.collections.get(record.collection)
      need(validate !== undefined, '/collection', 'names a collection that is not earlier in the archive')
      need(!exceedsDepth(record.body, seen.maxDepth), '/body', `must not nest deeper than ${seen.maxDepth} levels (MAX_JSON_DEPTH)`)
      if (validate) for (const error of documentErrors(validate, record.body)) need(false, `/body${error.pointer}`, `does not match the collection's schema: ${error.message}`)
      break
    }
    case 'agent':
      need(!seen.agentNames.has(record.name), '/name', 'an agent of this name comes earlier in the archive')
      seen.agentNames.add(record.name)
      break
    case 'mail': {
      need(seen.known('agent', record.sender_id), '/sender_id', 'names an agent that is not earlier in the archive')
      need(seen.known('conversation', record.conversation_id), '/conversation_id', 'names a conversation that is not earlier in the archive')
      if (record.parent_id !== null) seen.parents.push({ line: seen.line, id: record.parent_id })
      const recipients = new Set<string>()
      record.recipients.forEach((recipient, index) => {
        need(seen.known('agent', recipient.agent_id), `/recipients/${index}/agent_id`, 'names an agent that is not earlier in the archive')
        need(!recipients.has(recipient.agent_id), `/recipients/${index}/agent_id`, 'names the same agent twice')
        recipients.add(recipient.agent_id)
      })
      const keys = new Set<string>()
      record.tags.forEach((tag, index) => {
        need(seen.known('agent', tag.set_by), `/tags/${index}/set_by`, 'names an agent that is not earlier in the archive')
        need(!keys.has(tag.key), `/tags/${index}/key`, 'the same key twice')
        keys.add(tag.key)
      })
      break
    }
    case 'session':
      need(seen.known('character', record.character_id), '/character_id', 'names a character that is not earlier in the archive')
      break
    case 'message':
      need(seen.known('session', record.session_id), '/session_id', 'names a session that is not earlier in the archive')
      need(seen.known('character', record.character_id), '/character_id', 'names a character that is not earlier in the archive')
      break
    case 'extraction_run':
      need(seen.known('session', record.session_id), '/session_id', 'names a session that is not earlier in the archive')
      if (record.status === 'queued' || record.status === 'waiting_budget') {
        need(!seen.perSession.has(`pending:${record.session_id}`), '/status', 'a run of the same session waiting to start comes earlier in the archive (one at most)')
        seen.perSession.add(`pending:${record.session_id}`)
      }
      break
    case 'extraction_cursor':
      need(seen.known('session', record.session_id), '/session_id', 'names a session that is not earlier in the archive')
      need(!seen.perSession.has(`cursor:${record.session_id}`), '/session_id', 'a cursor of the same session comes earlier in the archive')
      seen.perSession.add(`cursor:${record.session_id}`)
      break
    case 'memory': {
      if (record.entity_type !== null && record.entity_id !== null) {
        const entity = `${record.entity_type}\u0000${record.entity_id}`
        need(!seen.entities.has(entity), '/entity_id', 'a memory of the same entity_type and entity_id comes earlier in the archive')
        seen.entities.add(entity)
      }
      if (record.embedding) need(record.embedding.vector.length === record.embedding.dims, '/embedding/vector', `must hold ${record.embedding.dims} numbers (dims)`)
      break
    }
    case 'conversation':
    case 'character':
      break
  }
  return problems
}
