import type { ExportResult, ImportResult } from '../modules/archive/archive.service.js'
import type { BackupResult } from '../modules/backups/backups.service.js'
import type { AccountView, SignupView } from '../modules/accounts/accounts.schemas.js'
import type { GptView } from '../modules/gpts/gpts.schemas.js'
import type { CreatedKeyView, KeyView } from '../modules/keys/keys.schemas.js'
import type { MigrationStatus } from '../platform/db/migrate.js'
import { cliCommand } from './command.js'
import type { OperationName } from './operations.js'
import type { SeedResult } from './seed.js'

const table = (rows: string[][]): string => {
  if (rows.length <= 1) return `${rows[0]?.join('  ') ?? ''}\n(none)\n`
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)))
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n') + '\n'
}

const keyLine = (key: KeyView) => [key.id, key.name ?? '', key.scopes.join(','), key.expires_at ?? 'never', key.revoked_at ? 'revoked' : 'active', key.last_used_at ?? 'never']

const migrations = (status: MigrationStatus[]) =>
  table([['MIGRATION', 'STATE'], ...status.map((m) => [m.name, m.applied ? `applied ${new Date(m.appliedAt!).toISOString()}` : 'pending'])])

const createdKey = (key: CreatedKeyView) =>
  `Created key ${key.id} for GPT ${key.gpt_id} (scopes: ${key.scopes.join(', ')}; expires: ${key.expires_at ?? 'never'}).\n` +
  `Key (shown once, store it now):\n\n  ${key.key}\n\n` +
  `Use it as: Authorization: Bearer ${key.key.slice(0, 12)}…\n`

const counted = (counts: Record<string, number>) =>
  Object.entries(counts).filter(([, n]) => n > 0).map(([type, n]) => `${n} ${type}`).join(', ') || 'none'

/** Human-readable output of each operation (`--json` prints the result itself). */
export const formatters: { [N in OperationName]: (result: never) => string } = {
  'gpt.create': (gpt: GptView) => `Created GPT ${gpt.id} (${gpt.name}).\nNext: ${cliCommand()} key create ${gpt.id}\n`,
  'gpt.list': (gpts: GptView[]) => table([['ID', 'NAME', 'CREATED'], ...gpts.map((g) => [g.id, g.name, g.created_at])]),
  'gpt.update': (gpt: GptView) =>
    `GPT ${gpt.id}: its Action spec offers ${gpt.action_exposure.parts.join(', ')}` +
    (gpt.action_exposure.parts.includes('collections') ? ` (collections: ${gpt.action_exposure.collections?.join(', ') ?? 'all'})` : '') +
    '.\n',
  'gpt.delete': (result: { deleted: string }) => `Deleted GPT ${result.deleted} and all its data.\n`,
  'gpt.export': (result: ExportResult) =>
    `Exported GPT ${result.gpt_id} to ${result.file}: ${result.records} records (${counted(result.counts)}), ${result.bytes} bytes.\nsha256 ${result.sha256}\n`,
  'gpt.import': (result: ImportResult) =>
    `Imported ${result.records} records into GPT ${result.gpt_id} (${counted(result.counts)}).\n` +
    (result.memories_to_embed > 0 ? `${result.memories_to_embed} memories wait for their vectors from the embedding job.\n` : ''),
  'key.create': createdKey,
  'key.list': (keys: KeyView[]) => table([['ID', 'NAME', 'SCOPES', 'EXPIRES', 'STATE', 'LAST USED'], ...keys.map(keyLine)]),
  'key.revoke': (key: KeyView) => `Revoked key ${key.id} of GPT ${key.gpt_id}.\n`,
  'account.create': (result: SignupView & { password?: string }) =>
    `Created account ${result.account.id} (${result.account.email}).\n` +
    (result.password !== undefined ? `Password (shown once, give it to the owner):\n\n  ${result.password}\n\n` : '') +
    `Account key (shown once, store it now):\n\n  ${result.key}\n\n`,
  'account.restore': (account: AccountView) => `Restored account ${account.id} (${account.email}) with its GPTs.\n`,
  'signing-key.rotate': (result: { kid: string; retired: string[] }) =>
    `New signing key ${result.kid}; retired ${result.retired.length === 0 ? 'none' : result.retired.join(', ')} ` +
    '(they keep verifying the tokens they signed until those expire, then the daily oauth.purge removes them).\n',
  'migrate.up': (result: { applied: string[]; status: MigrationStatus[] }) =>
    `${result.applied.length === 0 ? 'Nothing to apply.' : `Applied: ${result.applied.join(', ')}.`}\n${migrations(result.status)}`,
  'migrate.status': (result: { status: MigrationStatus[] }) => migrations(result.status),
  // `agentstore reindex` prints its own progress and summary (src/cli/reindex.ts).
  'mcp.request': (result: unknown) => `${JSON.stringify(result)}\n`,
  'reindex.status': (result: { model: string; remaining: Record<string, number> }) => `${JSON.stringify(result)}\n`,
  'reindex.step': (result: { embedded: Record<string, number>; failed: number }) => `${JSON.stringify(result)}\n`,
  // `agentstore backup create` prints its own progress and summary (src/cli/backup.ts).
  'backup.create': (result: BackupResult) => `${JSON.stringify(result)}\n`,
  seed: (result: SeedResult) =>
    `${result.gpt_created ? 'Created' : 'Reused'} GPT ${result.gpt_id}.\n` +
    (result.collection_created
      ? `Created collection ${result.collection} with ${result.sample_notes} sample notes.\n`
      : `Kept collection ${result.collection} and its documents.\n`) +
    result.revoked_keys.map((id) => `Revoked the earlier seed key ${id}.\n`).join('') +
    createdKey(result),
}
