import type { Config } from '../config.js'
import { readLock } from '../platform/db/data-dir-lock.js'
import { migrateToLatest } from '../platform/db/migrate.js'
import { openConfiguredDatabase } from '../runtime.js'
import { createServices } from '../services.js'
import { callAdminChannel } from './admin-channel.js'
import { runOperation, type OperationName } from './operations.js'

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Runs an operation where the data is: through the running embedded server's admin channel when
 * one holds DATA_DIR (PGlite allows one process per directory), else in this process.
 */
export async function executeOperation(config: Config, name: OperationName, args: unknown): Promise<unknown> {
  if (config.databaseUrl === null) {
    const holder = readLock(config.dataDir)
    if (holder?.socket && holder.pid !== process.pid && processAlive(holder.pid)) {
      return callAdminChannel(holder.socket, name, args)
    }
  }
  const opened = await openConfiguredDatabase(config)
  try {
    if (name !== 'migrate.status' && name !== 'migrate.up') await migrateToLatest(opened.database.db)
    const services = createServices(opened.database, config, () => {})
    return await runOperation({ services, database: opened.database }, name, args)
  } finally {
    await opened.close()
  }
}
