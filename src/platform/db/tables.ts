// The database schema as Kysely sees it, one file a domain under tables/; this index keeps one import path.
import type { GptsTable, ApiKeysTable, IdempotencyKeysTable } from './tables/gpts.js'
import type { AccountsTable, AccountKeysTable, AccountSessionsTable, AccountRefreshTokensTable, LoginFailuresTable, ConsoleSessionsTable, SigningKeysTable } from './tables/accounts.js'
import type { CollectionsTable, ObjectsTable } from './tables/documents.js'
import type { AgentsTable, ConversationsTable, MailTable, MailRecipientsTable, MailMetadataTable } from './tables/mail.js'
import type { CharactersTable, ChatSessionsTable, ChatMessagesTable } from './tables/chat.js'
import type { MemoriesTable, EmbeddingsTable, MemoryHistoryTable } from './tables/memories.js'
import type { AuditLogTable } from './tables/audit.js'
import type { ExtractionCursorsTable, ExtractionRunsTable } from './tables/extraction.js'
import type { OAuthAppsTable, OAuthEndUsersTable, OAuthConsentsTable, OAuthGrantsTable, OAuthCodesTable, OAuthRefreshTokensTable, OAuthRevokedTokensTable } from './tables/oauth.js'

export type * from './tables/gpts.js'
export type * from './tables/accounts.js'
export type * from './tables/documents.js'
export type * from './tables/mail.js'
export type * from './tables/chat.js'
export type * from './tables/memories.js'
export type * from './tables/audit.js'
export type * from './tables/extraction.js'
export type * from './tables/oauth.js'
export type { JsonObject, JsonValue } from './tables/columns.js'

/** Every table of the service, as Kysely sees it. */
export interface Tables {
  gpts: GptsTable
  api_keys: ApiKeysTable
  collections: CollectionsTable
  objects: ObjectsTable
  idempotency_keys: IdempotencyKeysTable
  agents: AgentsTable
  conversations: ConversationsTable
  mail: MailTable
  mail_recipients: MailRecipientsTable
  mail_metadata: MailMetadataTable
  characters: CharactersTable
  chat_sessions: ChatSessionsTable
  chat_messages: ChatMessagesTable
  memories: MemoriesTable
  memory_history: MemoryHistoryTable
  embeddings: EmbeddingsTable
  extraction_runs: ExtractionRunsTable
  extraction_cursors: ExtractionCursorsTable
  accounts: AccountsTable
  account_keys: AccountKeysTable
  account_sessions: AccountSessionsTable
  account_refresh_tokens: AccountRefreshTokensTable
  login_failures: LoginFailuresTable
  console_sessions: ConsoleSessionsTable
  signing_keys: SigningKeysTable
  audit_log: AuditLogTable
  oauth_apps: OAuthAppsTable
  oauth_end_users: OAuthEndUsersTable
  oauth_consents: OAuthConsentsTable
  oauth_grants: OAuthGrantsTable
  oauth_codes: OAuthCodesTable
  oauth_refresh_tokens: OAuthRefreshTokensTable
  oauth_revoked_tokens: OAuthRevokedTokensTable
}
