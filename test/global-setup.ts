import { rm, writeFile, mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import type { TestProject } from 'vitest/node'
import { openDatabase } from '../src/platform/db/database.js'
import { migrateToLatest } from '../src/platform/db/migrate.js'
import { buildAdminUi } from '../scripts/build-admin-ui.js'
import { ensureFreshBuild } from './helpers/fresh-build.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** A dumped, migrated PGlite data dir that each test file loads (PGlite runs). */
    pgliteDump: string | null
    /** A migrated PostgreSQL template database that each test file copies (PostgreSQL runs). */
    pgTemplate: string | null
    /** A migrated PGlite data directory on disk, closed, that tests copy for the processes they start (both runs). */
    pgliteDataDir: string
  }
}

function serverUrl(url: string, database: string): string {
  const parsed = new URL(url)
  parsed.pathname = `/${database}`
  return parsed.toString()
}

/**
 * Migrates one database per run, so that each test file starts from a copy in well under a second
 * instead of creating and migrating its own; and one PGlite data directory for the processes tests start.
 */
export default async function setup(project: TestProject) {
  // The admin console's page and script, as `npm run build` makes them: the service serves dist/admin-ui.
  await buildAdminUi()
  // The CLI and service processes that tests start run the build (test/helpers/children.ts).
  await ensureFreshBuild()
  // Processes that tests start on embedded PGlite (on a PostgreSQL run too) start from a copy of this
  // directory instead of creating and migrating their own (~8 s of CPU each).
  const dir = await mkdtemp(join(tmpdir(), 'agentstore-test-'))
  const dataDir = join(dir, 'data')
  const removeDir = () => rm(dir, { recursive: true, force: true })
  project.provide('pgliteDataDir', dataDir)
  const pglite = openDatabase({ kind: 'pglite', dataDir }).then(async (database) => {
    await migrateToLatest(database.db)
    return database
  })
  const url = process.env.TEST_DATABASE_URL
  if (url) {
    const template = `agentstore_tpl_${process.pid}_${Date.now()}`
    const migratePostgres = async () => {
      const admin = new pg.Client({ connectionString: url })
      await admin.connect()
      await admin.query(`CREATE DATABASE ${template}`)
      await admin.end()
      const postgres = await openDatabase({ kind: 'postgres', url: serverUrl(url, template), poolSize: 1 })
      await migrateToLatest(postgres.db)
      await postgres.close()
    }
    await Promise.all([pglite.then((database) => database.close()), migratePostgres()])
    project.provide('pgTemplate', template)
    project.provide('pgliteDump', null)
    return async () => {
      await removeDir()
      const client = new pg.Client({ connectionString: url })
      await client.connect()
      await client.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`)
      await client.end()
    }
  }
  const database = await pglite
  // The service uses only the database it opens: without the two template databases the dump holds
  // half the files, and each test file's load takes ~80 ms less (of ~300 ms).
  await database.pglite!.exec(`update pg_database set datistemplate = false where datname in ('template0', 'template1')`)
  // One statement each: DROP DATABASE cannot run in the transaction a multi-statement query makes.
  for (const name of ['template0', 'template1']) await database.pglite!.exec(`drop database ${name}`)
  const dump = await database.pglite!.dumpDataDir('none')
  await database.close()
  const file = join(dir, 'template.tar')
  await writeFile(file, Buffer.from(await dump.arrayBuffer()))
  project.provide('pgliteDump', file)
  project.provide('pgTemplate', null)
  return removeDir
}
