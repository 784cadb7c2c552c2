import { relative } from 'node:path'
import { BaseSequencer, type TestSpecification } from 'vitest/node'

/**
 * The slowest files of a full run on either database (wall time), longest first.
 * They start first, so that none of them starts last and keeps one core busy while the other idles.
 * This list, not vitest's cache of the last run's durations, puts them first: the cache holds one
 * run, and a file skipped on that database (the two-process tests on PGlite) looks instant there,
 * so the PostgreSQL run that follows would start its slowest file last. A file missing here only
 * loses its head start; the rest keep vitest's order.
 */
export const SLOWEST_FILES = [
  'test/scale-out.two-processes.test.ts',
  'test/deploy.image.test.ts',
  'test/keys.two-processes.test.ts',
  'test/cli.postgres.test.ts',
  'src/platform/jobs/pg-boss.replicas.test.ts',
  'test/chat.lease.test.ts',
  'test/server.test.ts',
  'test/transfer.test.ts',
  'src/platform/embeddings/local.embeddings.threads.test.ts',
  'test/cli.test.ts',
  'test/cli.inprocess.test.ts',
  'test/memories.remote.test.ts',
  'test/transfer.cli.test.ts',
  'test/console.collections.browser.test.ts',
  'test/chat.cancel.two-processes.test.ts',
  'test/backups.cli.test.ts',
  'test/mcp.two-processes.test.ts',
  'test/oauth.two-processes.test.ts',
]

export class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files)
    const path = (file: TestSpecification) => relative(file.project.config.root, file.moduleId)
    const rank = (file: TestSpecification) => {
      const index = SLOWEST_FILES.indexOf(path(file))
      return index < 0 ? SLOWEST_FILES.length : index
    }
    return sorted.sort((a, b) => rank(a) - rank(b))
  }
}
