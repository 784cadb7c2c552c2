import { sql, type Kysely } from 'kysely'
import { uuidv7 } from '../src/platform/uuidv7-pool.js'
import { openDatabase } from '../src/platform/db/database.js'
import { migrateToLatest } from '../src/platform/db/migrate.js'
import type { Tables } from '../src/platform/db/tables.js'
import { vacuumWhereDue } from '../src/platform/db/vacuum.js'
import { AuditRepository, encodeAuditRow, type AuditFilters } from '../src/modules/audit/audit.repo.js'
import type { AuditEvent } from '../src/platform/audit/audit.js'
import { percentiles, ratio, round, type Percentiles } from './lib/stats.js'

export interface VacuumBenchContext {
  /** Streamed replies written, each saved `saves` times as it grows (PARTIAL_SAVE_MS does that). */
  replies: number
  saves: number
  /** Audit rows written before a filtered export is read. */
  auditRows: number
  log: (line: string) => void
}

interface Side {
  /** pg_total_relation_size('chat_messages') after the writes. */
  chatMessagesMb: number
  writeMs: number
  /** Five pages of 500 of one GPT's audit rows of one action, newest first. */
  auditPagesMs: number
}

export interface VacuumReport {
  replies: number
  saves: number
  auditRows: number
  without: Side
  withJob: Side
  /** Each run of the job between rounds of writes (twenty of them). */
  vacuumRuns: Percentiles
}

const ROUNDS = 20
const ACTIONS = ['getObject', 'listObjects', 'createObject', 'searchMemories']

async function writeReplies(db: Kysely<Tables>, count: number, saves: number): Promise<void> {
  const session = uuidv7()
  await sql`insert into chat_sessions (gpt_id, id, user_id) values ('bench', ${session}::uuid, 'u')`.execute(db)
  for (let reply = 0; reply < count; reply++) {
    const id = uuidv7()
    await sql`insert into chat_messages (gpt_id, session_id, id, sender, content, status, partial_content) values ('bench', ${session}::uuid, ${id}::uuid, 'ai', '', 'in_progress', '')`.execute(db)
    for (let save = 1; save <= saves; save++) {
      await sql`update chat_messages set partial_content = ${'w'.repeat(50 * save)} where gpt_id = 'bench' and id = ${id}::uuid`.execute(db)
    }
    await sql`update chat_messages set content = partial_content, partial_content = '', status = 'complete' where gpt_id = 'bench' and id = ${id}::uuid`.execute(db)
  }
}

async function writeAudit(repo: AuditRepository, rows: number): Promise<void> {
  let at = Date.now() - rows * 10
  for (let written = 0; written < rows; written += 1000) {
    const batch = Array.from({ length: Math.min(1000, rows - written) }, (_, i) => {
      at += 10
      // One row in five is the rarer action the export asks for.
      const action = (written + i) % 5 === 0 ? 'generateReply' : ACTIONS[i % ACTIONS.length]!
      const event: AuditEvent = { gptId: `gpt-${i % 3}`, accountId: null, principal: { kind: 'key', id: 'k' }, action, targets: {}, status: 200, durationMs: 1, requestId: 'r', ip: '127.0.0.1', userAgent: null, request: null }
      return encodeAuditRow(event, uuidv7(at), at)
    })
    await repo.insertMany(batch)
  }
}

async function readAuditPages(repo: AuditRepository): Promise<number> {
  const filters: AuditFilters = { principalKind: null, principalId: null, action: 'generateReply', statusClass: null, createdAfter: null, createdBefore: null }
  const started = performance.now()
  let after: [Date, string] | null = null
  for (let page = 0; page < 5; page++) {
    const rows = await repo.list({ gptId: 'gpt-1' }, filters, { order: 'desc', limit: 500, after })
    const last = rows[499]
    if (!last) break
    after = [last.created_at, last.id]
  }
  return performance.now() - started
}

/** One fresh embedded database, written the same way with the job between rounds or without it. */
async function runSide(context: VacuumBenchContext, withJob: boolean, vacuumMs: number[]): Promise<Side> {
  const database = await openDatabase({ kind: 'pglite' })
  try {
    const db = database.db
    await migrateToLatest(db)
    await sql`insert into gpts (id, name) values ('bench', 'Bench')`.execute(db)
    const repo = new AuditRepository(db)
    const started = performance.now()
    for (let round = 0; round < ROUNDS; round++) {
      await writeReplies(db, Math.ceil(context.replies / ROUNDS), context.saves)
      await writeAudit(repo, Math.ceil(context.auditRows / ROUNDS))
      if (withJob) {
        const run = performance.now()
        await vacuumWhereDue(db)
        vacuumMs.push(performance.now() - run)
      }
    }
    const writeMs = performance.now() - started
    const { rows } = await sql<{ size: string }>`select pg_total_relation_size('chat_messages') as size`.execute(db)
    return { chatMessagesMb: round(Number(rows[0]!.size) / 1e6, 1), writeMs: Math.round(writeMs), auditPagesMs: round(await readAuditPages(repo), 1) }
  } finally {
    await database.close()
  }
}

/**
 * Embedded PGlite with and without the `database.vacuum` job's work between rounds of writes: chat
 * replies saved as they stream (the dead rows of their updates) and audit rows (the planner's
 * statistics an export's plan needs).
 */
export async function runVacuumBench(context: VacuumBenchContext): Promise<VacuumReport & { ratios: Record<string, number> }> {
  const vacuumMs: number[] = []
  context.log(`without the job: ${context.replies} replies saved ${context.saves} times, ${context.auditRows} audit rows…`)
  const without = await runSide(context, false, [])
  context.log('with the job between rounds…')
  const withJob = await runSide(context, true, vacuumMs)
  return {
    replies: context.replies,
    saves: context.saves,
    auditRows: context.auditRows,
    without,
    withJob,
    vacuumRuns: percentiles(vacuumMs),
    ratios: {
      chatMessagesSize: ratio(withJob.chatMessagesMb, without.chatMessagesMb),
      writeTime: ratio(withJob.writeMs, without.writeMs),
      auditPages: ratio(withJob.auditPagesMs, without.auditPagesMs),
    },
  }
}

export function printVacuum(report: VacuumReport & { ratios: Record<string, number> }): void {
  console.log(
    `\nvacuum on pglite — ${report.replies} chat replies each saved ${report.saves} times as they stream, and ${report.auditRows} audit rows, in ${ROUNDS} rounds; ` +
      'then five pages of one GPT’s audit rows of one action. "with the job": database.vacuum’s work between rounds',
  )
  console.table([
    { measure: 'chat_messages on disk, MB', without: report.without.chatMessagesMb, 'with the job': report.withJob.chatMessagesMb, 'with ÷ without': report.ratios.chatMessagesSize },
    { measure: 'all writes, ms (job runs included)', without: report.without.writeMs, 'with the job': report.withJob.writeMs, 'with ÷ without': report.ratios.writeTime },
    { measure: 'five audit pages, ms', without: report.without.auditPagesMs, 'with the job': report.withJob.auditPagesMs, 'with ÷ without': report.ratios.auditPages },
  ])
  console.log(`each run of the job: p50 ${report.vacuumRuns.p50Ms} ms, max ${report.vacuumRuns.maxMs} ms (the embedded database answers nothing else meanwhile)`)
}
