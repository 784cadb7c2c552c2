import type { CreatedKeyView } from '../modules/keys/keys.schemas.js'
import { allPages } from '../platform/http/pagination.js'
import type { Services } from '../services.js'
import { AppError, ErrorCode } from '../platform/errors.js'

export const SEED_GPT_ID = 'test-gpt'
export const SEED_COLLECTION = 'notes'

const NOTES_SCHEMA = {
  type: 'object',
  properties: {
    title: { type: 'string', maxLength: 200 },
    text: { type: 'string' },
    tags: { type: 'array', items: { type: 'string' } },
  },
  required: ['title', 'text'],
}

const SAMPLE_NOTES = [
  { title: 'Welcome', text: 'This note was stored by agentstore seed.', tags: ['sample'] },
  { title: 'Shopping list', text: 'Oat milk, coffee beans, basil.', tags: ['home'] },
  { title: 'Idea', text: 'A diary GPT that summarises the week every Sunday.', tags: ['work', 'gpt'] },
]

/** The agent-messaging demo's sample users (its GET /users/{id} reads them from this collection). */
export const SEED_USERS_COLLECTION = 'users'
const USERS_SCHEMA = {
  type: 'object',
  properties: { id: { type: 'integer', minimum: 1 }, name: { type: 'string', maxLength: 200 }, email: { type: 'string', maxLength: 320 } },
  required: ['id', 'name', 'email'],
}
const SAMPLE_USERS = [
  { id: 1, name: 'John Doe', email: 'john@example.com' },
  { id: 2, name: 'Jane Smith', email: 'jane@example.com' },
  { id: 3, name: 'Bob Johnson', email: 'bob@example.com' },
]

export const SEED_KEY_NAME = 'seed'

/** What `seed` made: the fresh key (the same shape as `key create`) and what it found or created around it. */
export type SeedResult = CreatedKeyView & {
  gpt_created: boolean
  collection: string
  collection_created: boolean
  sample_notes: number
  sample_users: number
  /** The earlier seed keys it revoked: one seed key is valid at a time, never a pile of them. */
  revoked_keys: string[]
}

/**
 * Creates (or reuses) GPT `test-gpt` with collection `notes` and, when the collection is new,
 * sample notes; then issues a fresh key (never a fixed, well-known one) and revokes the key an
 * earlier run made.
 */
export async function seed(services: Services): Promise<SeedResult> {
  let gptCreated = true
  try {
    await services.gpts.createGpt({ id: SEED_GPT_ID, name: 'Test GPT', description: 'Sample data made by `agentstore seed`.' })
  } catch (error) {
    if (!(error instanceof AppError && error.code === ErrorCode.Conflict)) throw error
    gptCreated = false
  }
  const collection = await services.collections.upsertCollection(SEED_GPT_ID, SEED_COLLECTION, { schema: NOTES_SCHEMA })
  if (collection.created) {
    for (const note of SAMPLE_NOTES) await services.objects.createObject(SEED_GPT_ID, SEED_COLLECTION, note, null)
  }
  const users = await services.collections.upsertCollection(SEED_GPT_ID, SEED_USERS_COLLECTION, { schema: USERS_SCHEMA })
  if (users.created) {
    for (const user of SAMPLE_USERS) await services.objects.createObject(SEED_GPT_ID, SEED_USERS_COLLECTION, user, null)
  }
  const earlier = await allPages((cursor) => services.keys.listKeys(SEED_GPT_ID, { cursor, limit: 200 }))
  const key = await services.keys.createKey(SEED_GPT_ID, { name: SEED_KEY_NAME, scopes: ['read', 'write', 'admin'] })
  const revoked: string[] = []
  for (const old of earlier) {
    if (old.name !== SEED_KEY_NAME || old.revoked_at !== null) continue
    await services.keys.revokeKey(SEED_GPT_ID, old.id)
    revoked.push(old.id)
  }
  return {
    ...key,
    gpt_created: gptCreated,
    collection: SEED_COLLECTION,
    collection_created: collection.created,
    sample_notes: collection.created ? SAMPLE_NOTES.length : 0,
    sample_users: users.created ? SAMPLE_USERS.length : 0,
    revoked_keys: revoked,
  }
}
