import { constants, getPriority, setPriority } from 'node:os'
import { parentPort, workerData } from 'node:worker_threads'
import { normalize } from './embeddings.provider.js'
import { loadUseLiteModel, USE_LITE_MODEL } from './use-lite.model.js'
import type { ThreadReply, ThreadRequest, ThreadStart } from './embeddings.thread.js'

/**
 * A worker thread holding its own copy of the model: the inference, the tokenizer and the scaling to
 * unit length all run here, so the event loop of the service only posts texts and receives vectors.
 * The model loads as soon as the thread starts; requests that arrive meanwhile wait for it.
 */
const port = parentPort
if (!port) throw new Error('use-lite.worker runs in a worker thread')
const start = workerData as ThreadStart
lowerPriority()
const loading = loadUseLiteModel(start.modelDir ?? undefined)

loading.then(
  () => port.postMessage({ type: 'ready' } satisfies ThreadReply),
  (error: unknown) => {
    // The thread is of no use without the model: the parent fails what waits and starts another when asked.
    port.postMessage({ type: 'load-failed', message: messageOf(error) } satisfies ThreadReply)
    port.close()
  },
)

port.on('message', (request: ThreadRequest) => {
  void embed(request).then(
    (vectors) => port.postMessage({ type: 'vectors', id: request.id, vectors } satisfies ThreadReply, [vectors.buffer]),
    (error: unknown) => port.postMessage({ type: 'failed', id: request.id, message: messageOf(error) } satisfies ThreadReply),
  )
})

/** One flat Float64Array (text after text), moved rather than copied to the parent. */
async function embed(request: ThreadRequest): Promise<Float64Array<ArrayBuffer>> {
  const model = await loading
  const rows = await model.run(request.texts)
  if (rows.length !== request.texts.length || rows.some((row) => row.length !== request.dimensions)) {
    throw new Error('output of an unexpected shape')
  }
  const flat = new Float64Array(rows.length * request.dimensions)
  rows.forEach((row, index) => flat.set(normalize(row, USE_LITE_MODEL), index * request.dimensions))
  return flat
}

/**
 * When cores are short, the event loop and the database should get them before the model does:
 * on Linux the nice value is per thread, so this lowers this thread only (elsewhere it may lower the
 * process, or fail). Only ever lowered; a failure leaves the thread as it was, which is still correct.
 */
function lowerPriority(): void {
  try {
    if (getPriority() < constants.priority.PRIORITY_BELOW_NORMAL) setPriority(constants.priority.PRIORITY_BELOW_NORMAL)
  } catch {
    // Not permitted here: the thread runs at the process's priority.
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
