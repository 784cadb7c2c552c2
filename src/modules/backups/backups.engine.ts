import { spawn } from 'node:child_process'
import { createReadStream, existsSync, readdirSync } from 'node:fs'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { sql } from 'kysely'
import type { Database } from '../../platform/db/database.js'
import type { Progress } from './backups.files.js'

/**
 * libpq settings for pg_dump and pg_restore: the URL without its password, which goes in PGPASSWORD
 * so that it never shows in the process list.
 */
function libpq(url: string): { dbname: string; env: NodeJS.ProcessEnv } {
  const parsed = new URL(url)
  const password = decodeURIComponent(parsed.password)
  parsed.password = ''
  return { dbname: parsed.toString(), env: { ...process.env, ...(password ? { PGPASSWORD: password } : {}) } }
}

/** Runs a PostgreSQL client tool; rejects with its last lines of stderr. */
function runTool(command: string, args: string[], env: NodeJS.ProcessEnv, input?: { path: string; progress?: Progress; size: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: [input ? 'pipe' : 'ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr!.on('data', (chunk) => (stderr = (stderr + String(chunk)).slice(-4000)))
    child.on('error', (error: NodeJS.ErrnoException) =>
      reject(new Error(error.code === 'ENOENT' ? `${command} is not installed (it comes with the PostgreSQL client tools)` : error.message)),
    )
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${command} failed (exit ${code}): ${stderr.trim()}`))))
    if (input) {
      let done = 0
      const stream = createReadStream(input.path)
      stream.on('data', (chunk) => {
        done += chunk.length
        input.progress?.(done, input.size)
      })
      stream.on('error', reject)
      // pg_restore stops reading on an error; its exit code says why, not this pipe.
      child.stdin!.on('error', () => {})
      stream.pipe(child.stdin!)
    }
  })
}

/** pg_dump -Fc of the database into `file`; `progress` sees the bytes written so far. */
export async function dumpPostgres(url: string, file: string, progress?: Progress): Promise<void> {
  const { dbname, env } = libpq(url)
  const timer = progress
    ? setInterval(() => {
        stat(file).then((info) => progress(info.size, null), () => {})
      }, 250)
    : null
  try {
    await runTool('pg_dump', ['--format=custom', '--no-owner', '--no-privileges', `--file=${file}`, `--dbname=${dbname}`], env)
  } finally {
    if (timer) clearInterval(timer)
  }
}

/** pg_restore of a custom-format dump in one transaction: the target gets all of it or nothing. */
export async function restorePostgres(url: string, file: string, progress?: Progress): Promise<void> {
  const { dbname, env } = libpq(url)
  const { size } = await stat(file)
  await runTool('pg_restore', ['--no-owner', '--no-privileges', '--single-transaction', '--exit-on-error', `--dbname=${dbname}`], env, { path: file, progress, size })
}

/** Reads the dump's table of contents: a file pg_restore can use. */
export async function checkPostgresDump(file: string): Promise<void> {
  await runTool('pg_restore', ['--list', file], process.env)
}

/**
 * A gzipped tar of the embedded data directory. The checkpoint first writes what PGlite holds in
 * memory to its files; the dump itself runs while no other query can (PGlite runs one at a time).
 */
export async function dumpPglite(database: Database, file: string): Promise<void> {
  await sql`checkpoint`.execute(database.db)
  const tarball = await database.pglite!.dumpDataDir('gzip')
  await writeFile(file, Buffer.from(await tarball.arrayBuffer()), { mode: 0o600 })
}

/** Creates the data directory `dataDir` (which must not hold a database) from a data-directory dump. */
export async function restorePglite(dataDir: string, file: string): Promise<void> {
  // PGlite (and its WebAssembly) is loaded only for an embedded database, never on PostgreSQL.
  const [{ PGlite }, { vector }] = await Promise.all([import('@electric-sql/pglite'), import('@electric-sql/pglite-pgvector')])
  const blob = new Blob([await readFile(file)])
  const pglite = await PGlite.create({ dataDir, loadDataDir: blob, extensions: { vector } })
  await pglite.query('checkpoint')
  await pglite.close()
}

/** A data directory with a database in it (PGlite writes PG_VERSION first). */
export function pgliteDirInUse(dataDir: string): boolean {
  return existsSync(dataDir) && readdirSync(dataDir).length > 0
}

/** Whether the database holds any table of its own (anything outside PostgreSQL's catalogs). */
export async function databaseHasTables(database: Database): Promise<boolean> {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from pg_tables where schemaname not in ('pg_catalog', 'information_schema')`.execute(database.db)
  return rows[0]!.n > 0
}

/** Empties a PostgreSQL database of everything a restore brings back (for `restore --force`). */
export async function dropEverything(database: Database): Promise<void> {
  await sql`drop schema if exists pgboss cascade`.execute(database.db)
  await sql`drop schema if exists public cascade`.execute(database.db)
  await sql`create schema public`.execute(database.db)
}
