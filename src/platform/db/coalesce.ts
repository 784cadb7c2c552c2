export interface CoalesceOptions {
  /** Statements of this kind running at once; a call made while all are busy waits to join the next. */
  maxInFlight: number
  /** Calls joined into one statement at most. */
  maxBatch: number
}

interface Waiting<In, Out> {
  input: In
  resolve: (output: Out) => void
  reject: (error: unknown) => void
}

/**
 * Joins calls that arrive while the database is busy with earlier ones into one statement. A call
 * made while a slot is free runs alone, at once, so an idle service waits for nothing; under load the
 * calls queued behind the running statements go together as the next, which costs PostgreSQL one
 * parse, plan and commit for them all instead of one each.
 *
 * `runMany` answers one output per input, in the inputs' order. When it fails, each of its inputs is
 * run again alone through `runOne`: one input's fault (a constraint, a value PostgreSQL refuses)
 * fails the whole statement, and only that input's caller is to see it.
 */
export function coalesced<In, Out>(
  runOne: (input: In) => Promise<Out>,
  runMany: (inputs: In[]) => Promise<Out[]>,
  options: CoalesceOptions,
): (input: In) => Promise<Out> {
  if (!(options.maxInFlight >= 1 && options.maxBatch >= 1)) throw new RangeError('coalesced needs at least one slot and one call per batch')
  const queue: Waiting<In, Out>[] = []
  let inFlight = 0

  const settle = async (batch: Waiting<In, Out>[]): Promise<void> => {
    if (batch.length > 1) {
      const outputs = await runMany(batch.map((waiting) => waiting.input)).catch(() => null)
      if (outputs) {
        batch.forEach((waiting, index) => waiting.resolve(outputs[index]!))
        return
      }
    }
    await Promise.all(batch.map((waiting) => runOne(waiting.input).then(waiting.resolve, waiting.reject)))
  }

  const launch = (): void => {
    while (inFlight < options.maxInFlight && queue.length > 0) {
      const batch = queue.splice(0, options.maxBatch)
      inFlight++
      void settle(batch).finally(() => {
        inFlight--
        launch()
      })
    }
  }

  return (input) =>
    new Promise<Out>((resolve, reject) => {
      queue.push({ input, resolve, reject })
      launch()
    })
}
