import { createHash } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Tables } from '../../platform/db/tables.js'
import { ARCHIVE_FORMAT, ARCHIVE_VERSION, RECORD_TYPES, type ArchiveHeader, type ArchiveTrailer, type RecordType } from './archive.format.js'
import { readRecords, schemaVersion } from './archive.read.js'

const PAGE_SIZE = 500

export interface ExportSource {
  db: Kysely<Tables>
  gpt: ArchiveHeader['gpt']
  embedding: { model: string; dims: number }
  agentstoreVersion: string
}

/**
 * The archive of one GPT, as chunks of NDJSON: the header, every record type in dependency order
 * (read page by page), then the trailer with the count per type and the SHA-256 of every line
 * before it (each with its "\n"), so that a cut or edited archive is refused on import.
 */
export async function* exportArchive(source: ExportSource, vectors: boolean): AsyncGenerator<string> {
  const hash = createHash('sha256')
  const emit = (text: string) => {
    hash.update(text)
    return text
  }
  const header: ArchiveHeader = {
    format: ARCHIVE_FORMAT,
    version: ARCHIVE_VERSION,
    exported_at: new Date().toISOString(),
    schema_version: await schemaVersion(source.db),
    agentstore_version: source.agentstoreVersion,
    embedding_model: source.embedding.model,
    embedding_dims: source.embedding.dims,
    vectors,
    gpt: source.gpt,
  }
  yield emit(`${JSON.stringify(header)}\n`)
  const counts = Object.fromEntries(RECORD_TYPES.map((type) => [type, 0])) as Record<RecordType, number>
  for (const type of RECORD_TYPES) {
    for await (const page of readRecords(source.db, source.gpt.id, type, { pageSize: PAGE_SIZE, vectors })) {
      counts[type] += page.length
      yield emit(page.map((record) => `${JSON.stringify({ type, ...record })}\n`).join(''))
    }
  }
  const records = Object.values(counts).reduce((sum, n) => sum + n, 0)
  const trailer: ArchiveTrailer = { type: 'end', records, counts, sha256: hash.digest('hex') }
  yield `${JSON.stringify(trailer)}\n`
}
