import type { FastifySchemaCompiler } from 'fastify'
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler'
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import addFormatsModule from 'ajv-formats'

// ajv-formats is CommonJS; under NodeNext its callable export sits on `.default`.
export const addFormats = (addFormatsModule as unknown as { default: (ajv: Ajv) => Ajv }).default

const makeAjv = (coerceTypes: false | 'array') =>
  addFormats(new Ajv({ removeAdditional: false, useDefaults: true, allErrors: true, coerceTypes }))

/** The members (as JSON pointers) holding a number that is not finite. */
function nonFiniteMembers(value: unknown, pointer = ''): string[] {
  if (typeof value === 'number') return Number.isFinite(value) ? [] : [pointer]
  if (typeof value !== 'object' || value === null) return []
  return Object.entries(value).flatMap(([key, member]) => nonFiniteMembers(member, `${pointer}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`))
}

/**
 * ajv coerces text such as "1e309" or "Infinity" to ±Infinity and then skips every numeric check
 * (`minimum`, `maximum`, integer-ness) for a value that is not finite, so the coerced part is
 * checked once more: no text becomes a number the rest of the service cannot use.
 */
function finiteOnly(validate: ValidateFunction): ValidateFunction {
  const checked = ((data: unknown, context?: Parameters<ValidateFunction>[1]) => {
    if (!validate(data, context)) {
      checked.errors = validate.errors
      return false
    }
    const errors: ErrorObject[] = nonFiniteMembers(data).map((instancePath) => ({
      instancePath,
      schemaPath: '#',
      keyword: 'type',
      params: { type: 'number' },
      message: 'must be a finite number',
    }))
    checked.errors = errors.length > 0 ? errors : null
    return errors.length === 0
  }) as ValidateFunction
  // Fastify passes the parent to validators that carry schemaEnv, so that ajv may replace the root.
  return Object.assign(checked, { schema: validate.schema, schemaEnv: validate.schemaEnv })
}

/**
 * Compiled on its first call. Compiling every route's schemas took about half a second of each start
 * and of each app a test builds, mostly for routes that process never serves.
 */
function compiledOnFirstUse(compile: () => ValidateFunction): ValidateFunction {
  let compiled: ValidateFunction | undefined
  const validate = ((data: unknown, context?: Parameters<ValidateFunction>[1]) => {
    compiled ??= compile()
    const valid = compiled(data, context)
    validate.errors = compiled.errors
    return valid
  }) as ValidateFunction
  // Every ajv function carries schemaEnv, and Fastify then passes the parent (see finiteOnly): kept so.
  return Object.assign(validate, { schemaEnv: true as unknown as ValidateFunction['schemaEnv'] })
}

/**
 * One pair of ajv instances per process, not per app. ajv keeps what it compiles by schema object, and
 * the route schemas are module constants: each is compiled once however many apps the process builds
 * (a test worker builds hundreds; compiling them and ajv's meta-schema afresh for each took ~8 CPU-s of
 * a test run). The options are fixed, so every app would make the same two instances anyway.
 */
let processAjv: { body: Ajv; text: Ajv } | undefined

/**
 * Request validation. JSON bodies are checked as sent (`{"id": 42}` is a 422, not the string "42");
 * query strings, params and headers are text on the wire, so they are coerced to the schema's types.
 */
export function requestValidatorCompiler(): FastifySchemaCompiler<object> {
  processAjv ??= { body: makeAjv(false), text: makeAjv('array') }
  const { body, text } = processAjv
  return ({ schema, httpPart }) => compiledOnFirstUse(() => (httpPart === 'body' ? body.compile(schema) : finiteOnly(text.compile(schema))))
}

/**
 * Fastify's own response serializer factory (fast-json-stringify, with the shared schemas), whose
 * serializers are each compiled on their first answer.
 */
export function lazyResponseSerializers(...factoryArgs: Parameters<ReturnType<typeof SerializerSelector>>) {
  const compile = SerializerSelector()(...factoryArgs)
  const [externalSchemas, serializerOptions] = factoryArgs
  // A serializer depends on its schema and on these two; without shared schemas or options (the
  // service sets neither) it depends on the schema alone, and the apps of a process share it.
  const shareable = isEmpty(externalSchemas) && isEmpty(serializerOptions)
  return (route: Parameters<typeof compile>[0]) => {
    const { schema } = route
    const build = () => compile(route)
    let serialize: Serializer | undefined
    return (data: unknown) => (serialize ??= shareable && typeof schema === 'object' && schema !== null ? sharedSerializer(schema, build) : build())(data)
  }
}

type Serializer = (data: unknown) => string

/** Response serializers by schema object, for every app of the process (see lazyResponseSerializers). */
const sharedSerializers = new WeakMap<object, Serializer>()

function sharedSerializer(schema: object, build: () => Serializer): Serializer {
  let serialize = sharedSerializers.get(schema)
  if (!serialize) sharedSerializers.set(schema, (serialize = build()))
  return serialize
}

const isEmpty = (value: unknown) => value === undefined || value === null || (typeof value === 'object' && Object.keys(value).length === 0)
