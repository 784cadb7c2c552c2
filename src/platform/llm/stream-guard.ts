import { LlmError } from './llm-error.js'
import type { LlmProviderName } from './llm.js'

export interface GuardOptions {
  provider: LlmProviderName
  timeoutMs: number
  signal: AbortSignal | undefined
  /** Turns any other failure (an SDK error, a broken socket) into an LlmError. */
  toError: (error: unknown) => LlmError
}

/**
 * Opens a provider stream with a signal that fires when the caller's does or when no chunk came
 * for `timeoutMs` (to the first chunk, and between chunks), and yields its chunks.
 *
 * The SDKs' own `timeout` stops at the response headers, and their iterators end *silently* when
 * their signal aborts, so a stall or an abort would otherwise look like a short but complete reply:
 * the abort is turned back into an error here. The clock is paused while the consumer holds a
 * chunk, so a slow consumer (a database write per delta) is not mistaken for a stalled provider.
 */
export async function* guardStream<T>(
  options: GuardOptions,
  open: (signal: AbortSignal) => Promise<AsyncIterable<T>>,
): AsyncGenerator<T, void, undefined> {
  const { provider, timeoutMs, signal } = options
  const controller = new AbortController()
  let timedOut = false
  let timer: NodeJS.Timeout | undefined
  const arm = () => {
    clearTimeout(timer)
    timer = setTimeout(() => {
      timedOut = true
      controller.abort(new Error('timed out'))
    }, timeoutMs)
  }
  const failure = (error?: unknown): LlmError => {
    if (timedOut) return new LlmError(provider, 'timeout', `timed out: no data from the provider for ${timeoutMs} ms`)
    if (signal?.aborted) return new LlmError(provider, 'aborted', 'the request was aborted', { cause: signal.reason })
    if (error instanceof LlmError) return error
    return options.toError(error)
  }
  if (signal?.aborted) throw failure()
  const onAbort = () => controller.abort(signal?.reason)
  signal?.addEventListener('abort', onAbort, { once: true })

  let iterator: AsyncIterator<T> | undefined
  let finished = false
  try {
    arm()
    try {
      iterator = (await open(controller.signal))[Symbol.asyncIterator]()
    } catch (error) {
      throw failure(error)
    }
    for (;;) {
      let next: IteratorResult<T>
      try {
        next = await iterator.next()
      } catch (error) {
        finished = true
        throw failure(error)
      }
      if (controller.signal.aborted) throw failure()
      if (next.done) {
        finished = true
        return
      }
      clearTimeout(timer)
      yield next.value
      arm()
    }
  } finally {
    clearTimeout(timer)
    signal?.removeEventListener('abort', onAbort)
    // The consumer stopped early (break, or an error of its own): cancel the HTTP request.
    if (!finished) await iterator?.return?.().catch(() => undefined)
    controller.abort()
  }
}
