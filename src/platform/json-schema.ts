import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { ERR, type FieldError } from './errors.js'
import { fieldErrorsFromAjv } from './http/problem.plugin.js'
import { findUnstorableText } from './json-depth.js'
import { addFormats } from './http/validation.js'


const DRAFT_07 = /^https?:\/\/json-schema\.org\/draft-07\/schema#?$/
const DRAFT_2020 = /^https?:\/\/json-schema\.org\/draft\/2020-12\/schema#?$/

export type SchemaDraft = '2020-12' | 'draft-07'

/** One ajv per draft, shared: compiled validators are cached by the callers. */
function makeAjv(draft: SchemaDraft): Ajv {
  const options = { allErrors: true, strict: false, validateFormats: true, addUsedSchema: false, loadSchema: undefined }
  const ajv = draft === '2020-12' ? new Ajv2020(options) : new Ajv(options)
  addFormats(ajv)
  return ajv
}

const ajvs: Partial<Record<SchemaDraft, Ajv>> = {}
const ajvFor = (draft: SchemaDraft) => (ajvs[draft] ??= makeAjv(draft))

/** The draft a schema is written in, from `$schema` (2020-12 when absent). */
export function schemaDraft(schema: Record<string, unknown>): SchemaDraft {
  const declared = schema.$schema
  if (declared === undefined) return '2020-12'
  if (typeof declared === 'string' && DRAFT_07.test(declared)) return 'draft-07'
  if (typeof declared === 'string' && DRAFT_2020.test(declared)) return '2020-12'
  throw ERR.validation('Unsupported JSON Schema draft.', [
    { pointer: '/schema/$schema', message: 'must be the 2020-12 or draft-07 meta-schema URI' },
  ])
}

const asFieldErrors = (errors: ErrorObject[] | null | undefined, prefix: string): FieldError[] =>
  fieldErrorsFromAjv(errors ?? []).map((error) => ({ ...error, pointer: `${prefix}${error.pointer}` }))

/**
 * Checks a collection schema against its meta-schema and compiles it; a schema that is not valid,
 * or that cannot compile (an unresolvable `$ref`, a bad pattern), is a 422 naming the problem.
 */
export function compileCollectionSchema(schema: Record<string, unknown>): ValidateFunction {
  const ajv = ajvFor(schemaDraft(schema))
  if (!ajv.validateSchema(schema)) {
    throw ERR.validation('The schema is not a valid JSON Schema.', asFieldErrors(ajv.errors, '/schema'))
  }
  try {
    return ajv.compile(schema)
  } catch (error) {
    throw ERR.validation('The schema cannot be compiled.', [{ pointer: '/schema', message: (error as Error).message }])
  }
}

/**
 * ajv keeps every compiled schema in a cache keyed by the schema object; a validator that is no
 * longer used must be released or the process grows with every schema change.
 */
export function releaseCollectionSchema(schema: Record<string, unknown>): void {
  try {
    ajvFor(schemaDraft(schema)).removeSchema(schema)
  } catch {
    // Never compiled (or an unsupported draft): nothing is held.
  }
}

/** Compiles only to check; nothing stays cached. */
export function checkCollectionSchema(schema: Record<string, unknown>): void {
  // Stored as jsonb: text PostgreSQL cannot hold is a 422 here, not a failed insert later.
  const unstorable = findUnstorableText(schema)
  if (unstorable) {
    throw ERR.validation('The schema holds text that cannot be stored.', [{ pointer: `/schema${unstorable.pointer}`, message: unstorable.message }])
  }
  compileCollectionSchema(schema)
  releaseCollectionSchema(schema)
}

/** The document's failures against a compiled schema, as JSON pointers into the document. */
export function documentErrors(validate: ValidateFunction, document: unknown): FieldError[] {
  return validate(document) ? [] : asFieldErrors(validate.errors, '')
}
