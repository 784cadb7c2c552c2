import type { Config } from '../config.js'
import { withOperations } from './execute.js'

type Counts = { memories: number; objects: number; messages: number }
const total = (counts: Counts) => counts.memories + counts.objects + counts.messages

export interface ReindexOptions {
  gptId?: string
  includeFailed: boolean
  batch: number
  json: boolean
}

/** Draws `[#####-----]  45%  450/1000` on one terminal line; plain lines when not on a terminal. */
function progress(out: NodeJS.WriteStream, done: number, all: number, detail: string): void {
  const share = all === 0 ? 1 : Math.min(1, done / all)
  const width = 30
  const bar = `[${'#'.repeat(Math.round(share * width)).padEnd(width, '-')}] ${String(Math.round(share * 100)).padStart(3)}%  ${done}/${all}  ${detail}`
  out.write(out.isTTY ? `\r${bar}` : `${bar}\n`)
}

/**
 * Re-embeds everything that has no vector of the current model (after EMBEDDINGS_MODEL changed, or
 * for items embedded before), a batch per step. Stopping it loses nothing: a rerun goes on with what
 * is still to do. Runs through the running server when it holds the data directory.
 */
export async function reindex(config: Config, options: ReindexOptions): Promise<void> {
  const scope = { ...(options.gptId !== undefined ? { gpt_id: options.gptId } : {}), include_failed: options.includeFailed }
  const result = await withOperations(config, async (run) => {
    const status = (await run('reindex.status', scope)) as { model: string; remaining: Counts }
    const all = total(status.remaining)
    const done: Counts = { memories: 0, objects: 0, messages: 0 }
    let failed = 0
    const err = process.stderr
    if (!options.json) err.write(`Re-embedding ${all} items with ${status.model}${options.gptId ? ` for GPT ${options.gptId}` : ''}.\n`)
    for (;;) {
      const step = (await run('reindex.step', { ...scope, batch: options.batch })) as { embedded: Counts; failed: number }
      for (const key of Object.keys(done) as (keyof Counts)[]) done[key] += step.embedded[key]
      failed += step.failed
      if (!options.json) progress(err, total(done) + failed, Math.max(all, total(done) + failed), `memories ${done.memories}, documents ${done.objects}, messages ${done.messages}${failed ? `, failed ${failed}` : ''}`)
      // A step that embedded nothing is the end (or only failures are left, which a rerun would repeat).
      if (total(step.embedded) === 0) break
    }
    if (!options.json && err.isTTY) err.write('\n')
    return { model: status.model, embedded: done, failed, remaining: ((await run('reindex.status', scope)) as { remaining: Counts }).remaining }
  })
  if (options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
  else {
    process.stdout.write(
      `Embedded ${total(result.embedded)} items with ${result.model} (memories ${result.embedded.memories}, documents ${result.embedded.objects}, messages ${result.embedded.messages}).\n` +
        (result.failed > 0 ? `${result.failed} memories failed: see embedding_error on them (GET /v1/gpts/{gpt_id}/memories?embedding_status=failed); rerun with --include-failed to retry.\n` : '') +
        (total(result.remaining) > 0 ? `Still to do: ${total(result.remaining)} (rerun to continue).\n` : ''),
    )
  }
  if (result.failed > 0 || total(result.remaining) > 0) process.exitCode = 1
}
