import { Type, type Static, type TSchema } from 'typebox'
import { Value } from 'typebox/value'
import type { Database } from '../platform/db/database.js'
import { migrateToLatest, migrationStatus } from '../platform/db/migrate.js'
import { generatePassword } from '../platform/auth/password.js'
import { ERR } from '../platform/errors.js'
import { allPages } from '../platform/http/pagination.js'
import { CreateGptBody, UpdateGptBody } from '../modules/gpts/gpts.schemas.js'
import { CreateKeyBody, KeyParams } from '../modules/keys/keys.schemas.js'
import type { Services } from '../services.js'
import { mcpRequest, McpRequestArgs } from './mcp.js'
import { seed } from './seed.js'

export interface OperationContext {
  services: Services
  database: Database
}

interface Operation<S extends TSchema> {
  args: S
  run(ctx: OperationContext, args: Static<S>): Promise<unknown>
}

const op = <S extends TSchema>(definition: Operation<S>) => definition

const ReindexArgs = Type.Object(
  { gpt_id: Type.Optional(Type.String({ minLength: 1 })), include_failed: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
)

/**
 * What the CLI can do, as plain operations over the services. The CLI runs them in-process, or asks a
 * running embedded server to run them over its local admin channel: the same code either way.
 */
export const operations = {
  // The stdio MCP server's requests (agentstore mcp), never printed.
  'mcp.request': op({ args: McpRequestArgs, run: mcpRequest }),
  'gpt.create': op({ args: CreateGptBody, run: (ctx, args) => ctx.services.gpts.createGpt(args) }),
  'gpt.list': op({
    args: Type.Object({}),
    run: (ctx) => allPages((cursor) => ctx.services.gpts.listGpts({ cursor, limit: 200 })),
  }),
  'gpt.update': op({
    args: Type.Object({ gpt_id: Type.String(), ...UpdateGptBody.properties }, { additionalProperties: false }),
    run: (ctx, { gpt_id, ...input }) => ctx.services.gpts.updateGpt(gpt_id, input),
  }),
  'gpt.delete': op({
    args: Type.Object({ gpt_id: Type.String() }),
    run: async (ctx, args) => {
      await ctx.services.gpts.deleteGpt(args.gpt_id)
      return { deleted: args.gpt_id }
    },
  }),
  // The file is read or written by the process that holds the database (the running embedded server
  // too, which runs as the same user: the admin channel is its owner's only): give absolute paths.
  'gpt.export': op({
    args: Type.Object({ gpt_id: Type.String(), file: Type.String({ minLength: 1 }), vectors: Type.Boolean() }, { additionalProperties: false }),
    run: (ctx, args) => ctx.services.archive.exportToFile(args.gpt_id, args.file, { vectors: args.vectors }),
  }),
  'gpt.import': op({
    args: Type.Object({ gpt_id: Type.String(), file: Type.String({ minLength: 1 }) }, { additionalProperties: false }),
    run: (ctx, args) => ctx.services.archive.importFile(args.gpt_id, args.file),
  }),
  'key.create': op({
    args: Type.Object({ gpt_id: Type.String(), ...CreateKeyBody.properties }, { additionalProperties: false }),
    run: (ctx, { gpt_id, ...input }) => ctx.services.keys.createKey(gpt_id, input),
  }),
  'key.list': op({
    args: Type.Object({ gpt_id: Type.String() }),
    run: (ctx, args) => allPages((cursor) => ctx.services.keys.listKeys(args.gpt_id, { cursor, limit: 200 })),
  }),
  'key.revoke': op({
    args: Type.Object({ key_id: Type.String({ minLength: 1, maxLength: 200 }) }),
    run: (ctx, args) => {
      if (args.key_id.startsWith('ak_')) return ctx.services.keys.revokeToken(args.key_id)
      // Checked here: an arbitrary string would reach the database and fail there with a stack trace.
      if (!Value.Check(KeyParams.properties.key_id, args.key_id)) {
        throw ERR.validation('Invalid arguments for key.revoke.', [{ pointer: '/key_id', message: 'must be a key id (a UUID) or a whole key (ak_…)' }])
      }
      return ctx.services.keys.revokeKey(null, args.key_id)
    },
  }),
  'account.create': op({
    args: Type.Object(
      { email: Type.String({ pattern: '^[^@\\s]+@[^@\\s]+$', maxLength: 254 }), password: Type.Optional(Type.String({ maxLength: 1024 })) },
      { additionalProperties: false },
    ),
    run: async (ctx, args) => {
      const password = args.password ?? generatePassword()
      const created = await ctx.services.accounts.signup({ email: args.email, password }, true)
      // A generated password is shown once, like the key; one the operator chose is not echoed.
      return args.password === undefined ? { ...created, password } : created
    },
  }),
  'account.restore': op({
    args: Type.Object({ account: Type.String({ minLength: 1, maxLength: 254 }) }, { additionalProperties: false }),
    run: (ctx, args) => ctx.services.accounts.restoreAccount(args.account),
  }),
  'signing-key.rotate': op({ args: Type.Object({}), run: (ctx) => ctx.services.signingKeys.rotate() }),
  'migrate.up': op({
    args: Type.Object({}),
    run: async (ctx) => ({ applied: await migrateToLatest(ctx.database.db), status: await migrationStatus(ctx.database.db) }),
  }),
  'migrate.status': op({ args: Type.Object({}), run: async (ctx) => ({ status: await migrationStatus(ctx.database.db) }) }),
  seed: op({ args: Type.Object({}), run: (ctx) => seed(ctx.services) }),
  // Where the database is open: in the running embedded server, which alone may read its files.
  'backup.create': op({ args: Type.Object({}, { additionalProperties: false }), run: (ctx) => ctx.services.backups.create() }),
  'reindex.status': op({
    args: ReindexArgs,
    run: async (ctx, args) => ({
      model: ctx.services.embedder.model,
      remaining: await ctx.services.embeddingWorker.countStale(args.gpt_id ?? null, args.include_failed ?? false),
    }),
  }),
  'reindex.step': op({
    args: Type.Object({ ...ReindexArgs.properties, batch: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) }, { additionalProperties: false }),
    run: async (ctx, args) => {
      if (args.gpt_id !== undefined) await ctx.services.gpts.getGpt(args.gpt_id)
      return ctx.services.embeddingWorker.reindexStep(args.gpt_id ?? null, args.batch ?? 64, args.include_failed ?? false)
    },
  }),
}

export type OperationName = keyof typeof operations
export type OperationArgs<N extends OperationName> = Static<(typeof operations)[N]['args']>

export function isOperationName(name: string): name is OperationName {
  return Object.hasOwn(operations, name)
}

/** Checks the arguments against the operation's schema, then runs it. */
export async function runOperation(ctx: OperationContext, name: OperationName, args: unknown): Promise<unknown> {
  const operation = operations[name] as Operation<TSchema>
  if (!Value.Check(operation.args, args)) {
    const errors = [...Value.Errors(operation.args, args)].map((error) => ({
      pointer: error.instancePath,
      message: error.message,
    }))
    throw ERR.validation(`Invalid arguments for ${name}.`, errors)
  }
  return operation.run(ctx, args)
}
