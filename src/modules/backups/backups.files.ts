import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'

/** What is recorded next to every backup file, as `<file>.json`. */
export interface BackupManifest {
  format: 'agentstore-backup/1'
  /** The backup file's name, in the same directory as the manifest. */
  file: string
  /** pg_dump's custom format (PostgreSQL), or a gzipped tar of the PGlite data directory. */
  kind: 'postgres' | 'pglite'
  started_at: string
  finished_at: string
  duration_ms: number
  size_bytes: number
  sha256: string
  /** The last migration applied when the backup was made. */
  schema_version: string
  migrations: string[]
  agentstore_version: string
}

export type Progress = (done: number, total: number | null) => void

const MANIFEST = '.json'
const FILE = /^agentstore-(postgres|pglite)-\d{8}T\d{6}(\d{3})?Z\.(dump|tar\.gz)$/

export function backupFileName(kind: BackupManifest['kind'], at: Date): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace('.', '')
  return `agentstore-${kind}-${stamp}.${kind === 'postgres' ? 'dump' : 'tar.gz'}`
}

export function manifestPath(file: string): string {
  return `${file}${MANIFEST}`
}

/** The SHA-256 of a file, read as a stream (backups can be larger than memory). */
export async function sha256File(path: string, progress?: Progress): Promise<string> {
  const { size } = await stat(path)
  const hash = createHash('sha256')
  let done = 0
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer)
    done += (chunk as Buffer).length
    progress?.(done, size)
  }
  return hash.digest('hex')
}

/** Written to a temporary name first, so that a reader never sees half a manifest. */
export async function writeManifest(path: string, manifest: BackupManifest): Promise<void> {
  const target = manifestPath(path)
  await writeFile(`${target}.partial`, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 })
  await rename(`${target}.partial`, target)
}

export async function readManifest(file: string): Promise<BackupManifest> {
  let text: string
  try {
    text = await readFile(manifestPath(file), 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`${basename(file)} has no manifest (${basename(manifestPath(file))}): it is not a finished Agentstore backup`)
    throw error
  }
  const manifest = JSON.parse(text) as BackupManifest
  if (manifest.format !== 'agentstore-backup/1' || manifest.file !== basename(file)) {
    throw new Error(`${basename(manifestPath(file))} is not the manifest of ${basename(file)}`)
  }
  return manifest
}

/** Every finished backup in `dir` (those with a manifest), newest first. */
export async function listBackups(dir: string): Promise<BackupManifest[]> {
  let names: string[]
  try {
    names = await readdir(dir)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
  const manifests = await Promise.all(
    names.filter((name) => FILE.test(name) && names.includes(`${name}${MANIFEST}`)).map((name) => readManifest(join(dir, name)).catch(() => null)),
  )
  return manifests.filter((manifest) => manifest !== null).sort((a, b) => b.started_at.localeCompare(a.started_at))
}

/** Deletes backups that finished more than `days` ago, always keeping the newest; returns the files removed. */
export async function pruneBackups(dir: string, days: number, now = new Date()): Promise<string[]> {
  const [, ...older] = await listBackups(dir)
  const cutoff = now.getTime() - days * 86_400_000
  const expired = older.filter((manifest) => Date.parse(manifest.finished_at) < cutoff)
  for (const manifest of expired) {
    // The manifest goes first: a file without one is no longer listed, even if its removal fails.
    await rm(manifestPath(join(dir, manifest.file)), { force: true })
    await rm(join(dir, manifest.file), { force: true })
  }
  return expired.map((manifest) => manifest.file)
}
