import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { Command, CommanderError, Option } from 'commander'
import { ConfigError } from '../config.js'
import { DataDirBusyError } from '../platform/db/data-dir-lock.js'
import { AppError } from '../platform/errors.js'
import { ListenError } from '../platform/listen-check.js'
import { holdYoungGeneration } from '../platform/young-generation.js'
import { packageVersion } from '../version.js'
import { RemoteOperationError } from './admin-channel.client.js'
import type { OperationName } from './operations.js'
import { formatters } from './output.js'
import { commandConfig, MissingDataDirError, readEnv, type Env } from './settings.js'

// Each command imports what it runs when it runs: `--version`, `--help` or a command sent to the
// running server would otherwise load the whole service first (over a second on two cores).
const load = {
  backup: () => import('./backup.js'),
  execute: () => import('./execute.js'),
  mcp: () => import('./mcp.js'),
  reindex: () => import('./reindex.js'),
  serve: () => import('./serve.js'),
  transfer: () => import('./transfer.js'),
}

/** A key id in the one form the API and the CLI print (a dashed UUID), also when given as the token carries it. */
const dashedKeyId = (text: string) => text.trim().replace(/^([0-9a-f]{8})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{12})$/i, '$1-$2-$3-$4-$5')

/** Raised for wrong usage that commander itself cannot see. */
class UsageError extends Error {}

function program(env: Env, envFile: string | null): Command {
  const cli = new Command('agentstore')
    .description('Agentstore: persistence for Custom GPTs and AI agents.')
    .version(packageVersion())
    .option('--json', 'print machine-readable JSON')
    .option('--data-dir <dir>', 'the embedded database directory (overrides DATA_DIR; default ./data)')
    .showHelpAfterError()
    // Commander throws instead of ending the process (main sets the exit code): a CLI run inside a
    // longer-lived process, as the tests run it, is not killed by a usage error or --help.
    .exitOverride()
  const config = (create: boolean) => commandConfig(env, { dataDir: cli.opts<{ dataDir?: string }>().dataDir, create })

  const run = <A extends unknown[]>(name: OperationName, args: (...values: A) => unknown) =>
    async function (this: Command, ...values: A) {
      const json = Boolean(cli.opts().json)
      const { executeOperation } = await load.execute()
      const result = await executeOperation(config(false), name, args(...values))
      process.stdout.write(json ? `${JSON.stringify(result, null, 2)}\n` : formatters[name](result as never))
    }

  cli
    .command('serve')
    .description('start the HTTP service (what `npm start` runs); makes the data directory on its first start')
    .action(async () => {
      // Before the service's modules load (see young-generation.ts); serve releases it once started.
      holdYoungGeneration()
      await (await load.serve()).serve(config(true), { envFile })
    })

  cli
    .command('migrate')
    .description('apply pending migrations, or show their status')
    .argument('[action]', 'up or status', 'up')
    .action(async (action: string, _options: unknown, command: Command) => {
      if (action !== 'up' && action !== 'status') throw new UsageError(`unknown migrate action "${action}" (use up or status)`)
      await run(action === 'up' ? 'migrate.up' : 'migrate.status', () => ({})).call(command)
    })

  const gpt = cli.command('gpt').description('manage GPTs (tenants)')
  gpt
    .command('create')
    .argument('<gpt_id>', 'id: 1–64 letters, digits, _ or -')
    .requiredOption('--name <name>', 'display name')
    .option('--description <text>', 'description')
    .action(run('gpt.create', (id: string, options: { name: string; description?: string }) => ({ id, ...options })))
  gpt.command('list').action(run('gpt.list', () => ({})))
  gpt
    .command('expose')
    .description("choose what the GPT's Action spec offers (checked against GPT Actions' limits)")
    .argument('<gpt_id>')
    .option('--parts <list>', 'comma-separated: collections, memories, search, chat, mail')
    .option('--collections <list>', 'comma-separated collection names the document operations offer (default: all)')
    .option('--defaults', 'back to the defaults (collections, memories, search; every collection)')
    .action(async function (this: Command, gptId: string, options: { parts?: string; collections?: string; defaults?: boolean }) {
      if ((options.parts === undefined) === (options.defaults === undefined)) throw new UsageError('give either --parts or --defaults')
      const list = (text: string) => text.split(',').filter((item) => item !== '')
      const exposure = options.parts === undefined ? null : { parts: list(options.parts), collections: options.collections === undefined ? null : list(options.collections) }
      await run('gpt.update', () => ({ gpt_id: gptId, action_exposure: exposure })).call(this)
    })
  gpt
    .command('export')
    .description('write everything of the GPT to one archive file (docs/archive.md); never keys or secrets')
    .argument('<gpt_id>')
    .option('--out <file>', 'the archive to write (default: ./<gpt_id>-<time>.agentstore.ndjson); never overwritten')
    .option('--no-vectors', "leave the memories' vectors out (they are made again on import)")
    .action(async function (this: Command, gptId: string, options: { out?: string; vectors: boolean }) {
      const file = resolve(options.out ?? `${gptId}-${new Date().toISOString().replace(/[-:.]/g, '')}.agentstore.ndjson`)
      if (existsSync(file)) throw new UsageError(`${file} already exists; give another --out`)
      await run('gpt.export', () => ({ gpt_id: gptId, file, vectors: options.vectors })).call(this)
    })
  gpt
    .command('import')
    .description('import an archive into the GPT, which must exist and hold no data yet: all or nothing, every id new')
    .argument('<gpt_id>')
    .argument('<file>', 'an archive made by gpt export or GET /v1/gpts/{gpt_id}/export')
    .action(async function (this: Command, gptId: string, file: string) {
      if (!existsSync(file)) throw new UsageError(`no file ${file}`)
      await run('gpt.import', () => ({ gpt_id: gptId, file: resolve(file) })).call(this)
    })
  gpt
    .command('delete')
    .argument('<gpt_id>')
    .option('--yes', 'confirm: deletes the GPT and all its data')
    .action(async function (this: Command, gptId: string, options: { yes?: boolean }) {
      if (!options.yes) throw new UsageError(`this deletes GPT "${gptId}" and all its data; add --yes to confirm`)
      await run('gpt.delete', () => ({ gpt_id: gptId })).call(this)
    })

  const key = cli.command('key').description('manage API keys')
  key
    .command('create')
    .argument('<gpt_id>')
    .option('--name <name>', 'a name to recognise the key by')
    .addOption(new Option('--scopes <list>', 'comma-separated: read, write, admin').default('read,write'))
    .option('--expires <when>', 'lifetime (30d, 12h, 2w) or an RFC 3339 time')
    .option('--agent <agent_id>', 'bind the key to one agent: it may then act only as that agent')
    .action(
      run('key.create', (gptId: string, options: { name?: string; scopes: string; expires?: string; agent?: string }) => ({
        gpt_id: gptId,
        ...(options.name !== undefined ? { name: options.name } : {}),
        ...(options.agent !== undefined ? { agent_id: options.agent } : {}),
        scopes: options.scopes.split(',').map((scope) => scope.trim()).filter(Boolean),
        ...(options.expires === undefined
          ? {}
          : /^\d+[smhdw]$/.test(options.expires)
            ? { expires_in: options.expires }
            : { expires_at: options.expires }),
      })),
    )
  key.command('list').argument('<gpt_id>').action(run('key.list', (gptId: string) => ({ gpt_id: gptId })))
  key
    .command('revoke')
    .argument('<key_id>', 'the id key create and key list show, the 32 hex digits after ak_ in the key, or the whole key (ak_…)')
    .action(run('key.revoke', (keyId: string) => ({ key_id: dashedKeyId(keyId) })))

  const account = cli.command('account').description('manage accounts (owners of GPTs), also while SIGNUP=closed')
  account
    .command('create')
    .description('create an account and print its key; the password is generated and printed unless given on stdin')
    .argument('<email>')
    .option('--password-stdin', 'read the password from standard input (its first line)')
    .action(async function (this: Command, email: string, options: { passwordStdin?: boolean }) {
      const password = options.passwordStdin ? await readFirstLine(process.stdin) : undefined
      if (password === '') throw new UsageError('--password-stdin: standard input held no password')
      await run('account.create', () => ({ email, ...(password !== undefined ? { password } : {}) })).call(this)
    })
  account
    .command('restore')
    .description('bring back a deleted account with its GPTs (before ACCOUNT_RETENTION_DAYS have passed)')
    .argument('<account>', 'the account\'s email or id')
    .action(run('account.restore', (value: string) => ({ account: value })))

  cli
    .command('signing-key')
    .description('the keys that sign access tokens')
    .command('rotate')
    .description('sign new tokens with a new key; tokens signed before stay valid until they expire')
    .action(run('signing-key.rotate', () => ({})))

  cli
    .command('reindex')
    .description('embed again everything without a vector of the current embeddings model (resumable; shows progress)')
    .option('--gpt <gpt_id>', 'only this GPT')
    .option('--include-failed', 'also retry memories whose embedding failed')
    .addOption(new Option('--batch <n>', 'items per step (1–1000)').default('64'))
    .action(async (options: { gpt?: string; includeFailed?: boolean; batch: string }) => {
      const batch = Number(options.batch)
      if (!Number.isInteger(batch) || batch < 1 || batch > 1000) throw new UsageError('--batch: expected a whole number from 1 to 1000')
      await (await load.reindex()).reindex(config(false), { gptId: options.gpt, includeFailed: Boolean(options.includeFailed), batch, json: Boolean(cli.opts().json) })
    })

  const backup = cli.command('backup').description('back up the whole database to BACKUP_DIR, check and restore backups')
  const json = () => Boolean(cli.opts().json)
  backup
    .command('create')
    .description('make a backup now (pg_dump on PostgreSQL, a data-directory dump on PGlite), with its manifest')
    .action(async () => (await load.backup()).backupCreate(config(false), json()))
  backup
    .command('list')
    .description('the backups in BACKUP_DIR, newest first')
    .action(async () => (await load.backup()).backupList(config(false), json()))
  backup
    .command('verify')
    .description('check a backup against its manifest: size, SHA-256, and a readable dump')
    .argument('<file>', 'a backup file, or its name in BACKUP_DIR')
    .action(async (file: string) => (await load.backup()).backupVerify(config(false), file, json()))
  backup
    .command('restore')
    .description('restore a backup into the configured database (DATABASE_URL, else the data directory), then migrate it forward')
    .argument('<file>', 'a backup file, or its name in BACKUP_DIR')
    .option('--force', 'replace a database that already has data (PostgreSQL: drops everything; PGlite: the old directory is kept, renamed)')
    .action(async (file: string, options: { force?: boolean }) =>
      (await load.backup()).backupRestore(config(true), file, { force: Boolean(options.force), json: json() }),
    )

  cli
    .command('transfer')
    .description('copy everything into another, empty database (PGlite to PostgreSQL or back), then verify every table')
    .requiredOption('--to <target>', 'postgres://… or the path of a new data directory')
    .action(async (options: { to: string }) => (await load.transfer()).transferCommand(config(false), options.to, json()))

  cli
    .command('mcp')
    .description('serve MCP over stdin/stdout for a local host (Claude Desktop, Claude Code, Cursor) with a GPT key')
    .option('--key <key>', 'the GPT key (default: AGENTSTORE_KEY from the environment)')
    .action(async (options: { key?: string }) => {
      const key = options.key ?? env.AGENTSTORE_KEY
      if (!key) throw new UsageError('give a GPT key with --key or AGENTSTORE_KEY')
      await (await load.mcp()).serveMcpStdio(config(false), key)
    })

  cli
    .command('seed')
    .description('create GPT test-gpt with sample notes and print a fresh key (revoking the one an earlier seed made)')
    .action(run('seed', () => ({})))
  return cli
}

/** The first line of a stream (a password piped in), without its line end. */
async function readFirstLine(stream: NodeJS.ReadableStream): Promise<string> {
  let text = ''
  for await (const chunk of stream) {
    text += String(chunk)
    if (text.includes('\n')) break
  }
  return text.split(/\r?\n/)[0]!
}

function describe(error: unknown): string {
  if ([ConfigError, DataDirBusyError, ListenError, MissingDataDirError, UsageError].some((type) => error instanceof type)) return (error as Error).message
  if (error instanceof AppError || error instanceof RemoteOperationError) {
    const fieldErrors = (error instanceof AppError ? error.extra.errors : error.problem.errors) as
      | { pointer: string; message: string; line?: number; record?: string }[]
      | undefined
    const where = (field: { line?: number; record?: string }) => (field.line === undefined ? '' : `line ${field.line}${field.record ? ` (${field.record})` : ''} `)
    const details = (fieldErrors ?? []).map((field) => `\n  ${where(field)}${field.pointer || '/'}: ${field.message}`).join('')
    return `${error.message}${details}`
  }
  return (error as Error).stack ?? String(error)
}

export async function main(argv: string[]): Promise<void> {
  let envFile: string | null = null
  try {
    const { env, file } = readEnv()
    envFile = file
    await program(env, file).parseAsync(argv)
  } catch (error) {
    // Commander has printed its message (or the help) already; its usage errors exit 2, like ours.
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? 0 : 2
      return
    }
    const json = argv.includes('--json')
    const message = `${describe(error)}${error instanceof ConfigError && envFile ? `\n  (settings come from the environment and from ${envFile}; the environment wins)` : ''}`
    process.stderr.write(json ? `${JSON.stringify({ error: message })}\n` : `agentstore: ${message}\n`)
    process.exitCode = error instanceof UsageError ? 2 : 1
  }
}
