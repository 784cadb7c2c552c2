import { createRequire } from 'node:module'
import pg from 'pg'

/**
 * pg's Result, as far as this module relies on it: `addFields` is called once per result with the
 * columns' descriptions, sets `fields`, `_parsers` and `_prebuiltEmptyResultObject`, and `parseRow`
 * spreads that template into each row.
 */
interface PgResult {
  fields: FieldDescription[]
  _parsers: ((value: unknown) => unknown)[] | undefined
  _prebuiltEmptyResultObject: Record<string, null> | undefined
  _types: { getTypeParser(oid: number, format?: string): (value: unknown) => unknown } | undefined
  addFields(fields: FieldDescription[]): void
  parseRow(values: unknown[]): Record<string, unknown>
}
export interface FieldDescription {
  name: string
  dataTypeID: number
  format?: string
}
type ResultClass = new (rowMode?: string, types?: PgResult['_types']) => PgResult

const require = createRequire(import.meta.url)
const Result = require('pg/lib/result.js') as ResultClass
const pgAddFields = Result.prototype.addFields

/** Templates by column names; a bound on what an odd workload (endless distinct aliases) could keep. */
const MAX_TEMPLATES = 1000
const templates = new Map<string, Record<string, null>>()

function templateOf(fields: FieldDescription[]): Record<string, null> {
  let key = ''
  for (const field of fields) key += `${field.name}\u0000`
  let template = templates.get(key)
  if (template === undefined) {
    // fromEntries defines each name as an own property, as pg's null-prototype object did: a column
    // named __proto__ stays a column.
    template = Object.fromEntries(fields.map((field) => [field.name, null])) as Record<string, null>
    if (templates.size < MAX_TEMPLATES) templates.set(key, template)
  }
  return template
}

/**
 * pg's addFields with the empty row kept as a fast object. pg builds it with Object.create(null) and
 * spreads it, which leaves V8 both objects in dictionary mode: about 5 µs per query on their own (23
 * µs of a document read's 370 under load), and every row spread from it slow to read.
 */
function addFields(this: PgResult, fields: FieldDescription[]): void {
  this.fields = fields
  if (fields.length) this._parsers = new Array<(value: unknown) => unknown>(fields.length)
  const types = this._types ?? (pg.types as unknown as NonNullable<PgResult['_types']>)
  for (let i = 0; i < fields.length; i++) this._parsers![i] = types.getTypeParser(fields[i]!.dataTypeID, fields[i]!.format || 'text')
  this._prebuiltEmptyResultObject = templateOf(fields)
}

/** What a Result built with `add` makes of these fields and row: for comparing ours with pg's. */
export function resultWith(add: 'pg' | 'ours', fields: FieldDescription[], row: unknown[] | null) {
  const result = new Result(undefined, undefined)
  ;(add === 'pg' ? pgAddFields : addFields).call(result, fields)
  return { fields: result.fields, parsers: result._parsers?.length ?? 0, row: row && result.parseRow(row) }
}

const SAMPLE: FieldDescription[] = [
  { name: 'id', dataTypeID: 25, format: 'text' },
  { name: '__proto__', dataTypeID: 23, format: 'text' },
  { name: 'id', dataTypeID: 16, format: 'text' },
]

/** Same fields, parsers and rows as pg's own on a sample, including a repeated and a __proto__ column. */
function behavesAsPg(): boolean {
  const [theirs, ours] = (['pg', 'ours'] as const).map((add) => resultWith(add, SAMPLE, ['a', '1', 't']))
  return (
    JSON.stringify(Object.entries(theirs!.row!)) === JSON.stringify(Object.entries(ours!.row!)) &&
    theirs!.parsers === ours!.parsers &&
    Object.getPrototypeOf(theirs!.row) === Object.getPrototypeOf(ours!.row)
  )
}

let installed: boolean | null = null

/**
 * Puts our addFields on pg's Result, once, if it still behaves as the pg this was written for (else
 * leaves pg as it is); tells whether it did.
 */
export function installFastRows(): boolean {
  installed ??= behavesAsPg()
  if (installed) Result.prototype.addFields = addFields
  return installed
}
