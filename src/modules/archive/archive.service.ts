import { createWriteStream } from 'node:fs'
import { mkdtemp, rename, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { once } from 'node:events'
import { Readable } from 'node:stream'
import { finished, pipeline } from 'node:stream/promises'
import { sql, type Kysely } from 'kysely'
import type { Tables } from '../../platform/db/tables.js'
import { AppError, ERR, ErrorCode } from '../../platform/errors.js'
import type { GptsService } from '../gpts/gpts.service.js'
import type { MemoriesService } from '../memories/memories.service.js'
import type { VectorStore } from '../search/vector-store.js'
import { checkArchive } from './archive.check.js'
import { exportArchive } from './archive.export.js'
import type { ArchiveHeader, ArchiveLimits, ArchiveTrailer, RecordType } from './archive.format.js'
import { typesHeld } from './archive.read.js'
import { writeArchive } from './archive.write.js'
import { packageVersion } from '../../version.js'

export interface ImportResult {
  gpt_id: string
  records: number
  counts: Record<RecordType, number>
  /** Memories imported without a vector of this instance's model: the embedding job makes theirs. */
  memories_to_embed: number
}

/**
 * Copies the upload to `file`, refusing past `maxBytes`. The upload is left open when refused: the
 * server answers 413 and drains it, where destroying it would cut the connection before the answer.
 */
async function spool(upload: Readable, file: string, maxBytes: number): Promise<void> {
  const out = createWriteStream(file)
  let size = 0
  try {
    for await (const chunk of upload.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
      size += chunk.length
      if (size > maxBytes) throw ERR.payloadTooLarge(`The archive is larger than ${maxBytes} bytes (ARCHIVE_IMPORT_MAX_BYTES).`)
      if (!out.write(chunk)) await once(out, 'drain')
    }
  } finally {
    out.end()
    await finished(out)
  }
}

export interface ExportResult {
  gpt_id: string
  file: string
  bytes: number
  records: number
  counts: Record<RecordType, number>
  sha256: string
}

export interface ArchiveDeps {
  db: Kysely<Tables>
  gpts: GptsService
  memories: MemoriesService
  store: VectorStore
  /** Documents and chat messages written, on their way to the embedding job. */
  changed: { add(source: 'objects' | 'messages', gptId: string, ids: readonly string[]): void }
  /** Runs after an import wrote characters (cached settings of the GPT's characters are dropped). */
  charactersWritten: (gptId: string) => Promise<void>
  limits: ArchiveLimits
}

/**
 * The archive of one GPT (format in docs/archive.md): export as a stream, and import all or nothing
 * into a GPT that holds no data yet. `owner`: the calling account, which must own the GPT (null:
 * the operator or the GPT's own admin key).
 */
export class ArchiveService {
  constructor(private readonly deps: ArchiveDeps) {}

  /** Checks the GPT before the first byte is sent, so that a refusal is still a problem answer. */
  async exportArchive(gptId: string, options: { vectors: boolean }, owner: string | null = null): Promise<AsyncGenerator<string>> {
    const gpt = await this.deps.gpts.getGpt(gptId, owner)
    const { session_retention_days, mail_retention_days } = gpt
    // As stored: null (the defaults, whatever they become) stays null rather than today's defaults.
    const stored = await this.deps.db.selectFrom('gpts').select('action_exposure').where('id', '=', gptId).executeTakeFirstOrThrow()
    const action_exposure = stored.action_exposure as ArchiveHeader['gpt']['action_exposure']
    const source = {
      db: this.deps.db,
      gpt: { id: gpt.id, name: gpt.name, description: gpt.description, action_exposure, session_retention_days, mail_retention_days },
      embedding: { model: this.deps.store.model, dims: this.deps.store.dims },
      agentstoreVersion: packageVersion(),
    }
    return exportArchive(source, options.vectors)
  }

  /**
   * Writes the archive to `file` (the CLI's export): first as `<file>.partial`, renamed once whole,
   * so that a file of that name is always a complete archive.
   */
  async exportToFile(gptId: string, file: string, options: { vectors: boolean }): Promise<ExportResult> {
    const lines = await this.exportArchive(gptId, options)
    let last = ''
    let bytes = 0
    const watched = async function* () {
      for await (const chunk of lines) {
        last = chunk
        bytes += Buffer.byteLength(chunk)
        yield chunk
      }
    }
    const partial = `${file}.partial`
    try {
      await pipeline(Readable.from(watched()), createWriteStream(partial, { flags: 'wx' }))
      await rename(partial, file)
    } catch (error) {
      await rm(partial, { force: true })
      throw error
    }
    const trailer = JSON.parse(last) as ArchiveTrailer
    return { gpt_id: gptId, file, bytes, records: trailer.records, counts: trailer.counts as Record<RecordType, number>, sha256: trailer.sha256 }
  }

  /** Spools the upload to a temporary file (at most `maxBytes`), then imports it. */
  async importStream(gptId: string, upload: Readable, maxBytes: number, owner: string | null = null): Promise<ImportResult> {
    await this.requireEmpty(gptId, owner)
    const dir = await mkdtemp(join(tmpdir(), 'agentstore-import-'))
    try {
      const file = join(dir, 'archive.ndjson')
      await spool(upload, file, maxBytes)
      return await this.importFile(gptId, file, owner)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }

  /** Checks the whole archive first (nothing written), then writes it in one transaction. */
  async importFile(gptId: string, file: string, owner: string | null = null): Promise<ImportResult> {
    await this.requireEmpty(gptId, owner)
    const checked = await checkArchive(file, this.deps.limits)
    if ('errors' in checked) {
      const more = checked.total > checked.errors.length ? ` (the first ${checked.errors.length} are listed)` : ''
      throw new AppError(ErrorCode.ValidationFailed, `The archive was refused: ${checked.total} problem(s)${more}; nothing was imported.`, {
        errors: checked.errors,
      })
    }
    const { plan } = checked
    const written = await this.deps.db.transaction().execute(async (trx) => {
      // The GPT row locked: two imports into one GPT cannot both find it empty.
      await sql`select id from gpts where id = ${gptId} for update`.execute(trx)
      await this.refuseHeld(trx, gptId)
      return writeArchive(trx, gptId, file, plan, this.deps.store)
    })
    for (const [source, ids] of [['objects', written.documents], ['messages', written.messages]] as const) {
      if (ids.length > 0) this.deps.changed.add(source, gptId, ids)
    }
    if (plan.counts.character > 0) await this.deps.charactersWritten(gptId)
    await this.deps.memories.embedLater(gptId, written.memoriesToEmbed)
    const records = Object.values(plan.counts).reduce((sum, n) => sum + n, 0)
    return { gpt_id: gptId, records, counts: plan.counts, memories_to_embed: written.memoriesToEmbed.length }
  }

  private async requireEmpty(gptId: string, owner: string | null): Promise<void> {
    await this.deps.gpts.getGpt(gptId, owner)
    await this.refuseHeld(this.deps.db, gptId)
  }

  private async refuseHeld(db: Kysely<Tables>, gptId: string): Promise<void> {
    const held = await typesHeld(db, gptId)
    if (held.length > 0) {
      throw ERR.conflict(`GPT "${gptId}" already holds data (${held.join(', ')}); an archive is imported only into a GPT without any. Create a new GPT, or delete this data first.`)
    }
  }
}
