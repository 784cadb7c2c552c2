import type { JobRuns, JobRunSummary } from '../../platform/jobs/job-runs.js'
import type { MinuteSample, RequestMinutes } from '../../platform/metrics.minutes.js'
import type { BackupService } from '../backups/backups.service.js'
import type { GptsService } from '../gpts/gpts.service.js'
import type { EmbeddingWorker } from '../search/embedding-worker.js'

/** GPTs listed with their counts; past this the overview says there are more (their pages list them all). */
export const OVERVIEW_GPTS = 100

export interface OverviewDeps {
  gpts: GptsService
  embeddingWorker: EmbeddingWorker
  backups: BackupService
  minutes: RequestMinutes
  jobRuns: JobRuns
}

export interface OverviewGpt {
  id: string
  name: string
  documents: number
  memories: number
  sessions: number
  agents: number
  unread_mail: number
}

export interface Backlog {
  memories: number
  documents: number
  messages: number
}

export interface Overview {
  gpts: OverviewGpt[]
  gpts_truncated: boolean
  embedding_backlog: Backlog
  /** The operator's only: what this process served and ran, and the newest backup. */
  server: {
    process_started_at: string
    minutes: MinuteSample[]
    jobs: JobRunSummary[]
    last_backup: { kind: 'postgres' | 'pglite'; finished_at: string; duration_ms: number; size_bytes: number } | null
  } | null
}

/**
 * The console's first page in one call: the GPTs a principal can see with their counts and embedding
 * backlog; for the operator also this process's last hour of requests, its job runs and the newest backup.
 */
export class OverviewService {
  private readonly startedAt = new Date().toISOString()

  constructor(private readonly deps: OverviewDeps) {}

  get minutes(): RequestMinutes {
    return this.deps.minutes
  }

  get jobRuns(): JobRuns {
    return this.deps.jobRuns
  }

  async forOperator(): Promise<Overview> {
    const { gpts, truncated } = await this.listed(null)
    const stale = await this.deps.embeddingWorker.countStale(null)
    const [newest] = await this.deps.backups.list().catch(() => [])
    return {
      gpts,
      gpts_truncated: truncated,
      embedding_backlog: backlog(stale),
      server: {
        process_started_at: this.startedAt,
        minutes: this.deps.minutes.samples(),
        jobs: this.deps.jobRuns.summary(),
        last_backup: newest
          ? { kind: newest.kind, finished_at: newest.finished_at, duration_ms: newest.duration_ms, size_bytes: newest.size_bytes }
          : null,
      },
    }
  }

  /** An account's own GPTs; the server's traffic, jobs and backups are the operator's business. */
  async forAccount(accountId: string): Promise<Overview> {
    const { gpts, truncated } = await this.listed(accountId)
    const total: Backlog = { memories: 0, documents: 0, messages: 0 }
    for (const gpt of gpts) {
      const counted = backlog(await this.deps.embeddingWorker.countStale(gpt.id))
      total.memories += counted.memories
      total.documents += counted.documents
      total.messages += counted.messages
    }
    return { gpts, gpts_truncated: truncated, embedding_backlog: total, server: null }
  }

  private async listed(owner: string | null): Promise<{ gpts: OverviewGpt[]; truncated: boolean }> {
    const page = await this.deps.gpts.listGpts({ limit: OVERVIEW_GPTS }, owner)
    const gpts: OverviewGpt[] = []
    for (const gpt of page.items) {
      const { gpt_id: _, ...counts } = await this.deps.gpts.stats(gpt.id, owner)
      gpts.push({ id: gpt.id, name: gpt.name, ...counts })
    }
    return { gpts, truncated: page.hasMore }
  }
}

const backlog = (stale: { memories: number; objects: number; messages: number }): Backlog => ({
  memories: stale.memories,
  documents: stale.objects,
  messages: stale.messages,
})
