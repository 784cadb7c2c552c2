import { Ajv, type ValidateFunction } from 'ajv'
import type { GptPrincipal } from '../../platform/auth/principal.js'
import { authorizeKey } from '../../platform/auth/authorize.js'
import { ERR } from '../../platform/errors.js'
import { fieldErrorsFromAjv } from '../../platform/http/problem.plugin.js'
import { addFormats } from '../../platform/http/validation.js'
import type { Services } from '../../services.js'
import type { Operation } from './catalogue.types.js'
import { chatOperations } from './chat.ops.js'
import { documentOperations } from './documents.ops.js'
import { mailOperations } from './mail.ops.js'
import { memoryOperations } from './memories.ops.js'

export interface CatalogueLimits {
  maxPageSize: number
  maxMemoryChars: number
  maxMessageChars: number
  maxRecipients: number
  maxMailChars: number
}

/** A TypeBox schema as plain JSON Schema (no TypeBox markers, no `$id` that would clash between documents). */
export function plainSchema(schema: object): Record<string, unknown> {
  const { $id: _id, ...rest } = JSON.parse(JSON.stringify(schema)) as Record<string, unknown>
  return rest
}

/**
 * Every agent-facing operation, and the one way to call one: input checked against its schema (as a
 * JSON body is on the HTTP API), the key checked as the HTTP routes check it, then the service call.
 */
export class Catalogue {
  readonly operations: readonly Operation[]
  private readonly byName: Map<string, { operation: Operation; validate?: ValidateFunction }>
  private readonly ajv = addFormats(new Ajv({ removeAdditional: false, useDefaults: true, allErrors: true, coerceTypes: false }))

  constructor(operations: Operation[]) {
    this.operations = operations
    // Each schema is compiled on the operation's first call: compiling them all took a tenth of the start.
    this.byName = new Map(operations.map((operation) => [operation.name, { operation }]))
    if (this.byName.size !== operations.length) throw new Error('two catalogue operations share a name')
  }

  get(name: string): Operation | undefined {
    return this.byName.get(name)?.operation
  }

  async call(name: string, principal: GptPrincipal, input: unknown): Promise<unknown> {
    const entry = this.byName.get(name)
    if (!entry) throw ERR.notFoundDetail(`There is no operation "${name}".`)
    const { operation } = entry
    const validate = (entry.validate ??= this.ajv.compile(plainSchema(operation.input)))
    authorizeKey(principal, { scope: operation.scope, agentKeys: operation.agentKeys, endUsers: operation.endUsers })
    const args = input ?? {}
    if (!validate(args)) throw ERR.validation(`The arguments of ${name} are not valid.`, fieldErrorsFromAjv(validate.errors ?? []))
    return operation.run(principal, args as never)
  }
}

/** The services the catalogue's operations call. */
export type CatalogueServices = Pick<Services, 'collections' | 'objects' | 'memories' | 'search' | 'sessions' | 'messages' | 'generation' | 'mail' | 'conversations'>

export function buildCatalogue(services: CatalogueServices, limits: CatalogueLimits): Catalogue {
  const { maxPageSize } = limits
  return new Catalogue([
    ...documentOperations({ collections: services.collections, objects: services.objects, maxPageSize }),
    ...memoryOperations({ memories: services.memories, search: services.search, maxPageSize, maxMemoryChars: limits.maxMemoryChars }),
    ...chatOperations({ ...services, maxPageSize, maxMessageChars: limits.maxMessageChars }),
    ...mailOperations({ ...services, ...limits }),
  ])
}
