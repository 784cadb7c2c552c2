import { createReadStream, existsSync } from 'node:fs'
import { readdir, rename, stat } from 'node:fs/promises'
import { pipeline } from 'node:stream/promises'
import { Writable } from 'node:stream'
import { createGunzip } from 'node:zlib'
import { acquireDataDirLock } from '../../platform/db/data-dir-lock.js'
import { openDatabase, type Database } from '../../platform/db/database.js'
import { migrateToLatest, MIGRATIONS_DIR } from '../../platform/db/migrate.js'
import { ERR } from '../../platform/errors.js'
import { checkPostgresDump, databaseHasTables, dropEverything, pgliteDirInUse, restorePglite, restorePostgres } from './backups.engine.js'
import { readManifest, sha256File, type BackupManifest, type Progress } from './backups.files.js'

/** Where a restore writes: the configured PostgreSQL database, or else the embedded data directory. */
export interface RestoreTarget {
  databaseUrl: string | null
  dataDir: string
}

export interface RestoreResult {
  file: string
  kind: BackupManifest['kind']
  schema_version: string
  /** Migrations applied after the restore, bringing an older backup up to this version. */
  migrated: string[]
  /** PGlite with --force: where the data directory that was replaced now is. */
  replaced: string | null
}

/** The manifest, checked against the file: size, SHA-256, and a readable dump. */
export async function verifyBackup(file: string, progress?: Progress): Promise<BackupManifest & { verified: true }> {
  if (!existsSync(file)) throw ERR.notFoundDetail(`No backup file at ${file}.`)
  const manifest = await readManifest(file).catch((error: Error) => {
    throw ERR.preconditionFailed(error.message)
  })
  const { size } = await stat(file)
  if (size !== manifest.size_bytes) throw ERR.preconditionFailed(`${manifest.file}: ${size} bytes, the manifest says ${manifest.size_bytes}: the file is damaged or incomplete.`)
  const sha256 = await sha256File(file, progress)
  if (sha256 !== manifest.sha256) throw ERR.preconditionFailed(`${manifest.file}: checksum ${sha256} differs from the manifest's ${manifest.sha256}: the file is damaged.`)
  try {
    if (manifest.kind === 'postgres') await checkPostgresDump(file)
    else await pipeline(createReadStream(file), createGunzip(), new Writable({ write: (_chunk, _encoding, done) => done() }))
  } catch (error) {
    throw ERR.preconditionFailed(`${manifest.file}: not a readable ${manifest.kind} dump (${(error as Error).message}).`)
  }
  return { ...manifest, verified: true }
}

/** Refuses a backup made by a newer version: its schema has migrations this version does not know. */
async function checkSchema(manifest: BackupManifest): Promise<void> {
  const known = new Set((await readdir(MIGRATIONS_DIR)).filter((name) => name.endsWith('.sql')).map((name) => name.replace(/\.sql$/, '')))
  const unknown = manifest.migrations.filter((name) => !known.has(name))
  if (unknown.length > 0) {
    throw ERR.preconditionFailed(
      `${manifest.file} was made by Agentstore ${manifest.agentstore_version} with migrations this version does not have (${unknown.join(', ')}); restore it with that version or a later one.`,
    )
  }
}

/**
 * Restores a backup into the target, which must hold no database unless `force`; then applies the
 * migrations the backup predates. The file is verified first, so a damaged one never touches the target.
 */
export async function restoreBackup(file: string, target: RestoreTarget, options: { force: boolean; progress?: Progress; onPhase?: (phase: string) => void }): Promise<RestoreResult> {
  const phase = options.onPhase ?? (() => {})
  phase('verifying')
  const manifest = await verifyBackup(file, options.progress)
  await checkSchema(manifest)
  const targetKind = target.databaseUrl === null ? 'pglite' : 'postgres'
  if (manifest.kind !== targetKind) {
    throw ERR.preconditionFailed(
      `${manifest.file} is a ${manifest.kind} backup and the target is ${targetKind === 'pglite' ? 'the embedded data directory' : 'PostgreSQL (DATABASE_URL)'}; restore it into a ${manifest.kind === 'pglite' ? 'data directory (unset DATABASE_URL, --data-dir)' : 'PostgreSQL database (DATABASE_URL)'}.`,
    )
  }
  let replaced: string | null = null
  let database: Database
  if (target.databaseUrl === null) {
    // Fails with a clear message while a server holds the directory.
    acquireDataDirLock(target.dataDir).release()
    if (pgliteDirInUse(target.dataDir)) {
      if (!options.force) throw ERR.conflict(`${target.dataDir} already holds a database; add --force to replace it (it is kept, renamed).`)
      replaced = `${target.dataDir}.replaced-${new Date().toISOString().replace(/[-:.]/g, '')}`
      await rename(target.dataDir, replaced)
    }
    phase('restoring')
    await restorePglite(target.dataDir, file)
    database = await openDatabase({ kind: 'pglite', dataDir: target.dataDir })
  } else {
    database = await openDatabase({ kind: 'postgres', url: target.databaseUrl, poolSize: 2 })
    try {
      if (await databaseHasTables(database)) {
        if (!options.force) throw ERR.conflict('The target database already has tables; add --force to drop everything in it and restore.')
        phase('emptying the target')
        await dropEverything(database)
      }
      phase('restoring')
      await restorePostgres(target.databaseUrl, file, options.progress)
    } catch (error) {
      await database.close()
      throw error
    }
  }
  try {
    phase('migrating')
    const migrated = await migrateToLatest(database.db)
    return { file: manifest.file, kind: manifest.kind, schema_version: manifest.schema_version, migrated, replaced }
  } finally {
    await database.close()
  }
}
