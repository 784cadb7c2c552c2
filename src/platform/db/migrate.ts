import { readdir, readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Tables } from './tables.js'
import { type Kysely, type Migration, type MigrationProvider, type MigrationResult, Migrator, sql } from 'kysely'

/** The numbered SQL files of the package's `migrations/` folder (the same path from `src/` and `dist/`). */
export const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'migrations')

class SqlFileMigrationProvider implements MigrationProvider {
  constructor(private readonly dir: string) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    const files = (await readdir(this.dir)).filter((file) => /^\d{4}_[\w-]+\.sql$/.test(file)).sort()
    const migrations: Record<string, Migration> = {}
    for (const file of files) {
      const text = await readFile(join(this.dir, file), 'utf8')
      migrations[file.replace(/\.sql$/, '')] = {
        // A simple-protocol query runs the whole file; Kysely wraps each migration in a transaction.
        up: async (db) => {
          await sql.raw(text).execute(db)
        },
      }
    }
    return migrations
  }
}

export interface MigrationStatus {
  name: string
  applied: boolean
  appliedAt: Date | null
}

function migratorFor(db: Kysely<Tables>): Migrator {
  return new Migrator({ db, provider: new SqlFileMigrationProvider(MIGRATIONS_DIR) })
}

/** Applies every pending migration; returns the names applied now. */
export async function migrateToLatest(db: Kysely<Tables>): Promise<string[]> {
  const { error, results } = await migratorFor(db).migrateToLatest()
  if (error) {
    const failed = results?.find((result: MigrationResult) => result.status === 'Error')
    throw new Error(`migration ${failed?.migrationName ?? '(unknown)'} failed: ${(error as Error).message}`, { cause: error })
  }
  return (results ?? []).filter((result) => result.status === 'Success').map((result) => result.migrationName)
}

export async function migrationStatus(db: Kysely<Tables>): Promise<MigrationStatus[]> {
  const migrations = await migratorFor(db).getMigrations()
  return migrations.map((migration) => ({
    name: migration.name,
    applied: migration.executedAt !== undefined,
    appliedAt: migration.executedAt ?? null,
  }))
}
