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

/**
 * Creates (or reuses) GPT `test-gpt` with collection `notes` and, when the collection is new,
 * sample notes; then issues a fresh key: never a fixed, well-known key.
 */
export async function seed(services: Services) {
  let created = true
  try {
    await services.gpts.createGpt({ id: SEED_GPT_ID, name: 'Test GPT', description: 'Sample data made by `agentstore seed`.' })
  } catch (error) {
    if (!(error instanceof AppError && error.code === ErrorCode.Conflict)) throw error
    created = false
  }
  const collection = await services.collections.upsertCollection(SEED_GPT_ID, SEED_COLLECTION, NOTES_SCHEMA)
  if (collection.created) {
    for (const note of SAMPLE_NOTES) await services.objects.createObject(SEED_GPT_ID, SEED_COLLECTION, note, null)
  }
  const key = await services.keys.createKey(SEED_GPT_ID, { name: 'seed', scopes: ['read', 'write', 'admin'] })
  return { gpt_id: SEED_GPT_ID, gpt_created: created, collection: SEED_COLLECTION, key }
}
