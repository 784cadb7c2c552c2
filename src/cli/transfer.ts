import { resolve } from 'node:path'
import type { Config } from '../config.js'
import { acquireDataDirLock } from '../platform/db/data-dir-lock.js'
import { openDatabase, type Database } from '../platform/db/database.js'
import { tableDigests, transfer } from '../modules/backups/transfer.js'
import { openConfiguredDatabase } from '../runtime.js'

/** A PostgreSQL URL, or else the path of an embedded data directory (made if needed). */
async function openTarget(to: string): Promise<{ database: Database; label: string; close(): Promise<void> }> {
  if (/^postgres(ql)?:\/\//.test(to)) {
    const database = await openDatabase({ kind: 'postgres', url: to, poolSize: 2 })
    const parsed = new URL(to)
    return { database, label: `PostgreSQL ${parsed.host}${parsed.pathname}`, close: () => database.close() }
  }
  const dataDir = resolve(to)
  const lock = acquireDataDirLock(dataDir)
  try {
    const database = await openDatabase({ kind: 'pglite', dataDir })
    return { database, label: `the data directory ${dataDir}`, close: async () => { await database.close(); lock.release() } }
  } catch (error) {
    lock.release()
    throw error
  }
}

/**
 * `agentstore transfer --to …`: the configured database (source) copied into an empty other one,
 * then verified table by table. The source is opened here, so an embedded one must not be in use by
 * a running server (stop it first: a copy taken while it writes would not match).
 */
export async function transferCommand(config: Config, to: string, json: boolean): Promise<void> {
  const source = await openConfiguredDatabase(config)
  try {
    const target = await openTarget(to)
    try {
      const err = process.stderr
      if (!json) err.write(`Copying ${config.databaseUrl === null ? `the data directory ${config.dataDir}` : 'the PostgreSQL database'} to ${target.label}.\n`)
      const all = json ? 0 : Object.values(await tableDigests(source.database)).reduce((sum, digest) => sum + digest.rows, 0)
      const copiedBy = new Map<string, number>()
      const result = await transfer(source.database, target.database, (table, copied, total) => {
        if (json) return
        copiedBy.set(table, copied)
        const done = [...copiedBy.values()].reduce((sum, n) => sum + n, 0)
        const line = `${String(Math.round((100 * done) / Math.max(1, all))).padStart(3)}%  ${done}/${all} rows  (${table} ${copied}/${total})`
        // On a terminal one line redrawn; elsewhere one line per finished table.
        if (err.isTTY) err.write(`\r${line}\x1b[K`)
        else if (copied === total) err.write(`${line}\n`)
      })
      if (!json && err.isTTY) err.write('\n')
      process.stdout.write(
        json
          ? `${JSON.stringify(result, null, 2)}\n`
          : `Copied ${result.rows} rows in ${Object.keys(result.tables).length} tables; every table's row count and checksum match the source.\n`,
      )
    } finally {
      await target.close()
    }
  } finally {
    await source.close()
  }
}
