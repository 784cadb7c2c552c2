import type { ColumnType } from 'kysely'

type CreatedAt = ColumnType<Date, Date | undefined, never>
type UpdatedAt = ColumnType<Date, Date | undefined, Date>

export interface GptsTable {
  id: string
  name: string
  description: string | null
  owner_account_id: ColumnType<string | null, string | null | undefined, never>
  /** `{ parts, collections }` as JSON text on write; null: the defaults. */
  action_exposure: ColumnType<JsonObject | null, string | null | undefined, string | null>
  /** Days a chat session is kept after its last activity (null: for ever). */
  session_retention_days: ColumnType<number | null, number | null | undefined, number | null>
  /** Days mail is kept after it was sent (null: for ever). */
  mail_retention_days: ColumnType<number | null, number | null | undefined, number | null>
  created_at: CreatedAt
  updated_at: UpdatedAt
}

export interface AccountsTable {
  id: string
  email: string
  password_hash: string
  created_at: CreatedAt
  updated_at: UpdatedAt
  deleted_at: ColumnType<Date | null, never, Date | null>
}

export interface AccountKeysTable {
  account_id: string
  id: string
  secret_hash: Buffer
  revoked_at: ColumnType<Date | null, never, Date | null>
  created_at: CreatedAt
}

export interface AccountSessionsTable {
  account_id: string
  id: string
  expires_at: Date
  revoked_at: ColumnType<Date | null, never, Date | null>
  created_at: CreatedAt
}

export interface AccountRefreshTokensTable {
  token_hash: Buffer
  account_id: string
  session_id: string
  used_at: ColumnType<Date | null, never, Date | null>
  created_at: CreatedAt
}

export interface LoginFailuresTable {
  subject: string
  failures: number
  last_failed_at: Date
  locked_until: Date | null
}

export interface ConsoleSessionsTable {
  token_hash: Buffer
  kind: 'account' | 'operator'
  account_id: string | null
  account_session_id: string | null
  csrf_token: string
  expires_at: Date
  created_at: CreatedAt
}

export interface SigningKeysTable {
  kid: string
  alg: string
  public_jwk: ColumnType<Record<string, unknown>, string, string>
  private_jwk: ColumnType<Record<string, unknown>, string, string>
  created_at: CreatedAt
  retired_at: ColumnType<Date | null, never, Date | null>
}

export interface ApiKeysTable {
  id: string
  gpt_id: string
  name: string | null
  secret_hash: Buffer
  scopes: string[]
  expires_at: Date | null
  revoked_at: Date | null
  last_used_at: Date | null
  agent_id: string | null
  created_at: CreatedAt
}

export interface CollectionsTable {
  gpt_id: string
  name: string
  schema: ColumnType<JsonObject | null, string | null, string | null>
  per_user: ColumnType<boolean, boolean | undefined, boolean>
  /** Seconds a document lives after its last write (null: for ever). */
  ttl_seconds: ColumnType<number | null, number | null | undefined, number | null>
  created_at: CreatedAt
  updated_at: UpdatedAt
}

export interface ObjectsTable {
  gpt_id: string
  id: string
  collection: string
  body: ColumnType<JsonObject, string, string>
  /** The end user of a document in a per-user collection; null in shared collections. */
  user_id: ColumnType<string | null, string | null | undefined, never>
  version: ColumnType<number, number | undefined, number>
  created_at: CreatedAt
  updated_at: UpdatedAt
  search: ColumnType<string, never, never>
}

export interface IdempotencyKeysTable {
  gpt_id: string
  key: string
  fingerprint: string
  response_status: number
  response_body: ColumnType<unknown, string, string>
  response_headers: ColumnType<Record<string, string>, string | undefined, string>
  created_at: CreatedAt
}

type JsonColumn<T = JsonObject> = ColumnType<T, string | undefined, string>

export interface AgentsTable {
  gpt_id: string
  id: string
  name: string
  address: string | null
  port: number | null
  metadata: JsonColumn
  created_at: CreatedAt
  updated_at: UpdatedAt
}

export interface ConversationsTable {
  gpt_id: string
  id: string
  title: string
  description: string | null
  archived: ColumnType<boolean, boolean | undefined, boolean>
  metadata: JsonColumn
  created_at: CreatedAt
  updated_at: UpdatedAt
}

export interface MailTable {
  gpt_id: string
  id: string
  sender_id: string
  conversation_id: string | null
  parent_id: string | null
  type: ColumnType<string, string | undefined, string>
  importance: ColumnType<number, number | undefined, number>
  content: string
  metadata: JsonColumn
  created_at: CreatedAt
  edited_at: ColumnType<Date | null, Date | null | undefined, Date | null>
}

export interface MailRecipientsTable {
  gpt_id: string
  mail_id: string
  agent_id: string
  created_at: Date
  read_at: Date | null
}

export interface MailMetadataTable {
  gpt_id: string
  mail_id: string
  key: string
  id: ColumnType<string, string | undefined, never>
  value: JsonColumn<JsonValue>
  set_by: string | null
  created_at: CreatedAt
  updated_at: UpdatedAt
}

export interface CharactersTable {
  gpt_id: string
  id: string
  name: string
  agent_role: string
  model: string | null
  temperature: number | null
  memory: JsonColumn<CharacterMemory>
  created_at: CreatedAt
  updated_at: UpdatedAt
  deleted_at: Date | null
}

export interface CharacterMemory {
  enabled: boolean
  top_k?: number
  entity_type?: string
}

export interface ChatSessionsTable {
  gpt_id: string
  id: string
  user_id: string
  name: string | null
  metadata: JsonColumn
  character_id: string | null
  is_favorite: ColumnType<boolean, boolean | undefined, boolean>
  last_activity_at: ColumnType<Date, Date | undefined, Date>
  generating_message_id: string | null
  generation_lease_until: Date | null
  created_at: CreatedAt
  updated_at: UpdatedAt
}

export type MessageSender = 'user' | 'ai' | 'system' | 'tool'
export type MessageStatus = 'pending' | 'in_progress' | 'complete' | 'failed' | 'cancelled'

export interface ChatMessagesTable {
  gpt_id: string
  session_id: string
  id: string
  sender: MessageSender
  content: ColumnType<string, string | undefined, string>
  context: ColumnType<JsonValue | null, string | null | undefined, string | null>
  status: ColumnType<MessageStatus, MessageStatus | undefined, MessageStatus>
  partial_content: ColumnType<string, string | undefined, string>
  error_message: string | null
  model: string | null
  character_id: string | null
  created_at: CreatedAt
  updated_at: UpdatedAt
  search: ColumnType<string, never, never>
}

export type EmbeddingStatus = 'pending' | 'ready' | 'failed'

export interface MemoriesTable {
  gpt_id: string
  id: string
  entity_type: string | null
  entity_id: string | null
  user_id: string | null
  content: string
  metadata: JsonColumn
  embedding_status: ColumnType<EmbeddingStatus, EmbeddingStatus | undefined, EmbeddingStatus>
  embedding_error: string | null
  embedding_attempts: ColumnType<number, number | undefined, number>
  revision: ColumnType<number, number | undefined, number>
  created_at: CreatedAt
  updated_at: UpdatedAt
  search: ColumnType<string, never, never>
}

export interface EmbeddingsTable {
  gpt_id: string
  id: ColumnType<string, never, never>
  memory_id: string | null
  object_id: string | null
  message_id: string | null
  model: string
  dims: number
  /** Written as a vector literal `[1,2,…]`, which both vector and real[] columns accept through a cast. */
  embedding: ColumnType<unknown, string, string>
  embedded_at: ColumnType<Date, Date | undefined, Date>
}

export interface AuditLogTable {
  gpt_id: string | null
  id: string
  account_id: string | null
  principal_kind: string
  principal_id: string | null
  action: string
  targets: ColumnType<Record<string, string>, string, never>
  status: number
  duration_ms: number | null
  request_id: string | null
  ip: string | null
  user_agent: string | null
  request: ColumnType<JsonValue | null, string | null, never>
  created_at: Date
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }
export type JsonObject = { [key: string]: JsonValue }

/** Every table of the service, as Kysely sees it. */
export interface OAuthAppsTable {
  id: string
  gpt_id: string
  name: string
  client_id: string
  secret_hash: Buffer | null
  type: 'confidential' | 'public'
  redirect_uris: string[]
  scopes: string[]
  rate_limit_per_minute: number | null
  created_at: CreatedAt
  last_used_at: Date | null
}

export interface OAuthEndUsersTable {
  gpt_id: string
  id: string
  email: string
  password_hash: string
  created_at: CreatedAt
}

export interface OAuthConsentsTable {
  id: string
  app_id: string
  request: ColumnType<Record<string, string>, string, string>
  csrf_hash: Buffer
  expires_at: Date
}

export interface OAuthGrantsTable {
  id: string
  gpt_id: string
  app_id: string
  end_user_id: string | null
  scopes: string[]
  resource: string
  expires_at: Date
  revoked_at: Date | null
  created_at: CreatedAt
  last_used_at: Date | null
}

export interface OAuthCodesTable {
  code_hash: Buffer
  app_id: string
  end_user_id: string
  redirect_uri: string
  redirect_given: boolean
  scopes: string[]
  resource: string
  code_challenge: string | null
  expires_at: Date
  grant_id: string | null
}

export interface OAuthRefreshTokensTable {
  token_hash: Buffer
  grant_id: string
  used_at: Date | null
  created_at: CreatedAt
}

export interface OAuthRevokedTokensTable {
  jti: string
  expires_at: Date
}

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
  embeddings: EmbeddingsTable
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
