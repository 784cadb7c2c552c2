import { allPages } from '../../platform/http/pagination.js'
import type { Catalogue } from '../catalogue/catalogue.js'
import type { CollectionView } from '../collections/collections.schemas.js'
import type { CollectionsService } from '../collections/collections.service.js'
import type { ActionExposureView, GptView } from '../gpts/gpts.schemas.js'
import { actionPaths } from './actions.spec.js'

const everyCollection = (collections: CollectionsService, gptId: string) =>
  allPages((cursor) => collections.listCollections(gptId, { cursor, limit: 200 }))

/**
 * The check a GPT's new Action exposure passes before it is stored: the spec it makes from the
 * GPT's collections as they are now stays within GPT Actions' limits (else a 422 naming what to drop).
 */
export function exposureCheck(catalogue: Catalogue, collections: CollectionsService) {
  return async (gpt: GptView, exposure: ActionExposureView): Promise<void> => {
    actionPaths({ gptId: gpt.id, catalogue, collections: await everyCollection(collections, gpt.id), exposure })
  }
}

/**
 * The GPT's collections and its stored exposure as the spec uses it now: a chosen collection deleted
 * since is no longer offered (deleting a collection does not break the GPT's Action).
 */
export async function currentExposure(collections: CollectionsService, gpt: GptView): Promise<{ all: CollectionView[]; exposure: ActionExposureView }> {
  const all = await everyCollection(collections, gpt.id)
  const known = new Set(all.map((collection) => collection.name))
  const chosen = gpt.action_exposure.collections
  return { all, exposure: { ...gpt.action_exposure, collections: chosen === null ? null : chosen.filter((name) => known.has(name)) } }
}
