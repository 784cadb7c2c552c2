import type { Config } from './config.js'
import type { Database } from './platform/db/database.js'
import { GptsRepository } from './modules/gpts/gpts.repo.js'
import { GptsService } from './modules/gpts/gpts.service.js'
import { KeysRepository } from './modules/keys/keys.repo.js'
import { KeysService } from './modules/keys/keys.service.js'

export interface Services {
  gpts: GptsService
  keys: KeysService
}

/** Wires every domain service over one database; the HTTP app and the CLI both use these. */
export function createServices(
  database: Database,
  config: Pick<Config, 'defaultPageSize' | 'keyTouchIntervalMs'>,
  onBackgroundError: (error: unknown) => void,
): Services {
  const gpts = new GptsService(new GptsRepository(database.db), config)
  const keys = new KeysService(new KeysRepository(database.db), gpts, {
    defaultPageSize: config.defaultPageSize,
    keyTouchIntervalMs: config.keyTouchIntervalMs,
    onTouchError: onBackgroundError,
  })
  return { gpts, keys }
}
