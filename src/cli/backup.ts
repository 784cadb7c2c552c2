import { readdir, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { Config } from '../config.js'
import type { BackupManifest, Progress } from '../modules/backups/backups.files.js'
import { listBackups } from '../modules/backups/backups.files.js'
import { restoreBackup, verifyBackup } from '../modules/backups/backups.restore.js'
import type { BackupResult } from '../modules/backups/backups.service.js'
import { executeOperation } from './execute.js'

const MB = 1024 * 1024
const size = (bytes: number) => (bytes >= MB ? `${(bytes / MB).toFixed(1)} MB` : `${(bytes / 1024).toFixed(1)} kB`)

/**
 * One status line on standard error: a bar when the total is known, else the bytes so far; redrawn
 * in place on a terminal, at most every 2 s as plain lines elsewhere. Nothing with --json.
 */
function progressLine(json: boolean, label: string): { update: Progress; end(): void } {
  const out = process.stderr
  let last = 0
  let drawn = false
  return {
    update(done, total) {
      if (json) return
      const now = Date.now()
      if (!out.isTTY && now - last < 2000 && done !== total) return
      last = now
      const share = total ? Math.min(1, done / total) : null
      const text = share === null ? `${label} ${size(done)}` : `${label} [${'#'.repeat(Math.round(share * 30)).padEnd(30, '-')}] ${String(Math.round(share * 100)).padStart(3)}%  ${size(done)}/${size(total!)}`
      out.write(out.isTTY ? `\r${text}\x1b[K` : `${text}\n`)
      drawn = true
    },
    end() {
      if (drawn && out.isTTY) out.write('\n')
      drawn = false
    },
  }
}

const print = (json: boolean, value: unknown, text: string) => process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : text)

/** Watches BACKUP_DIR for the file being written (by this process or by the server that runs it). */
function watchPartial(dir: string, progress: Progress): () => void {
  const timer = setInterval(() => {
    readdir(dir)
      .then(async (names) => {
        const partial = names.find((name) => name.endsWith('.partial') && !name.endsWith('.json.partial'))
        if (partial) progress((await stat(join(dir, partial))).size, null)
      })
      .catch(() => {})
  }, 250)
  return () => clearInterval(timer)
}

export async function backupCreate(config: Config, json: boolean): Promise<void> {
  const line = progressLine(json, 'dumping')
  if (!json) process.stderr.write(`Backing up the ${config.databaseUrl === null ? `embedded database in ${config.dataDir}` : 'PostgreSQL database'} to ${config.backups.dir}.\n`)
  const stop = watchPartial(config.backups.dir, line.update)
  let result: BackupResult
  try {
    result = (await executeOperation(config, 'backup.create', {})) as BackupResult
  } finally {
    stop()
    line.end()
  }
  print(
    json,
    result,
    `Made ${result.path} (${size(result.size_bytes)} in ${(result.duration_ms / 1000).toFixed(1)} s, schema ${result.schema_version}).\nsha256 ${result.sha256}\n` +
      (result.pruned.length > 0 ? `Removed ${result.pruned.length} backups older than ${config.backups.retentionDays} days.\n` : ''),
  )
}

export async function backupList(config: Config, json: boolean): Promise<void> {
  const backups = await listBackups(config.backups.dir)
  const rows = [['FILE', 'FINISHED', 'SIZE', 'DURATION', 'SCHEMA'], ...backups.map((b: BackupManifest) => [b.file, b.finished_at, size(b.size_bytes), `${(b.duration_ms / 1000).toFixed(1)} s`, b.schema_version])]
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)))
  const table = rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n')
  print(json, backups, backups.length === 0 ? `No backups in ${config.backups.dir}.\n` : `${table}\n`)
}

/** A file named as given, or else one of BACKUP_DIR (as `backup list` shows them). */
async function locate(config: Config, file: string): Promise<string> {
  const given = resolve(file)
  if (await stat(given).then(() => true, () => false)) return given
  const inDir = join(config.backups.dir, file)
  return (await stat(inDir).then(() => true, () => false)) ? inDir : given
}

export async function backupVerify(config: Config, file: string, json: boolean): Promise<void> {
  const line = progressLine(json, 'checking')
  const manifest = await verifyBackup(await locate(config, file), line.update).finally(() => line.end())
  print(json, manifest, `${manifest.file}: intact (${size(manifest.size_bytes)}, sha256 ${manifest.sha256}, schema ${manifest.schema_version}, made ${manifest.finished_at}).\n`)
}

export async function backupRestore(config: Config, file: string, options: { force: boolean; json: boolean }): Promise<void> {
  let line = progressLine(options.json, 'checking')
  const result = await restoreBackup(await locate(config, file), { databaseUrl: config.databaseUrl, dataDir: config.dataDir }, {
    force: options.force,
    progress: (done, total) => line.update(done, total),
    onPhase: (phase) => {
      line.end()
      line = progressLine(options.json, phase === 'restoring' ? 'restoring' : 'checking')
      if (!options.json) process.stderr.write(`${phase}…\n`)
    },
  }).finally(() => line.end())
  print(
    options.json,
    result,
    `Restored ${result.file} into ${config.databaseUrl === null ? config.dataDir : 'the PostgreSQL database'} (schema ${result.schema_version}).\n` +
      (result.migrated.length > 0 ? `Migrated forward: ${result.migrated.join(', ')}.\n` : '') +
      (result.replaced ? `The data directory it replaced is now ${result.replaced}.\n` : ''),
  )
}
