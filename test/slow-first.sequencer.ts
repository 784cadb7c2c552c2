import { relative } from 'node:path'
import { BaseSequencer, type TestSpecification } from 'vitest/node'

/**
 * The slowest files of a full run (wall time under two workers), longest first. vitest orders files
 * by the durations of the previous run when its cache has them, and by size when it does not (a
 * fresh checkout, as on CI): then a small but slow file could start last and keep one core busy
 * while the other idles. A file missing here only loses its head start.
 */
export const SLOWEST_FILES = [
  'test/deploy.image.test.ts',
  'src/platform/embeddings/local.embeddings.threads.test.ts',
  'test/server.test.ts',
  'test/chat.lease.test.ts',
  'test/mcp.two-processes.test.ts',
  'test/scale-out.two-processes.test.ts',
  'test/transfer.test.ts',
  'test/cli.test.ts',
  'test/chat.cancel.two-processes.test.ts',
  'test/cli.postgres.test.ts',
  'test/cli.admin-channel.test.ts',
  'test/mcp.stdio.test.ts',
  'test/oauth.two-processes.test.ts',
  'test/keys.two-processes.test.ts',
]

export class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files)
    const path = (file: TestSpecification) => relative(file.project.config.root, file.moduleId)
    // Measured durations, where the cache has them for every file, beat this list.
    if (sorted.every((file) => this.ctx.cache.getFileTestResults(`${file.project.name}:${path(file)}`))) return sorted
    const rank = (file: TestSpecification) => {
      const index = SLOWEST_FILES.indexOf(path(file))
      return index < 0 ? SLOWEST_FILES.length : index
    }
    return sorted.sort((a, b) => rank(a) - rank(b))
  }
}
