import { describe, expect, it } from 'vitest'
import { coalesced } from './coalesce.js'

/** A statement the test finishes by hand: what ran, with what inputs, and how to end it. */
interface Run {
  kind: 'one' | 'many'
  inputs: number[]
  finish(outputs?: string[]): void
  fail(error: Error): void
}

function harness(options: { maxInFlight: number; maxBatch: number }) {
  const runs: Run[] = []
  let running = 0
  let mostRunning = 0
  const start = (kind: Run['kind'], inputs: number[]) =>
    new Promise<string[]>((resolve, reject) => {
      running++
      mostRunning = Math.max(mostRunning, running)
      const end = () => running--
      runs.push({
        kind,
        inputs,
        finish: (outputs) => (end(), resolve(outputs ?? inputs.map((input) => `row ${input}`))),
        fail: (error) => (end(), reject(error)),
      })
    })
  const call = coalesced(
    async (input: number) => (await start('one', [input]))[0]!,
    (inputs: number[]) => start('many', inputs),
    options,
  )
  return { call, runs, mostRunning: () => mostRunning }
}

const settled = <T>(promise: Promise<T>) => promise.then((value) => ({ value }), (error: Error) => ({ error: error.message }))
const tick = () => new Promise((resolve) => setImmediate(resolve))

describe('coalesced', () => {
  it('runs a call alone and at once while a slot is free', async () => {
    const { call, runs } = harness({ maxInFlight: 2, maxBatch: 8 })
    const first = call(1)
    const second = call(2)
    expect(runs.map((run) => [run.kind, run.inputs])).toEqual([['one', [1]], ['one', [2]]])
    runs.forEach((run) => run.finish())
    expect(await Promise.all([first, second])).toEqual(['row 1', 'row 2'])
  })

  it('joins the calls made while every slot is busy into the next statement, each answered with its own output', async () => {
    const { call, runs } = harness({ maxInFlight: 1, maxBatch: 8 })
    const calls = [1, 2, 3, 4].map((input) => call(input))
    expect(runs).toHaveLength(1)
    runs[0]!.finish()
    await tick()
    expect(runs.map((run) => [run.kind, run.inputs])).toEqual([['one', [1]], ['many', [2, 3, 4]]])
    runs[1]!.finish(['b', 'c', 'd'])
    expect(await Promise.all(calls)).toEqual(['row 1', 'b', 'c', 'd'])
  })

  it('puts at most maxBatch calls in one statement, and never runs more than maxInFlight at once', async () => {
    const { call, runs, mostRunning } = harness({ maxInFlight: 2, maxBatch: 3 })
    const calls = Array.from({ length: 10 }, (_, input) => call(input))
    expect(runs.map((run) => run.inputs)).toEqual([[0], [1]])
    for (let finished = 0; finished < runs.length; finished++) {
      runs[finished]!.finish()
      await tick()
    }
    expect(runs.map((run) => run.inputs)).toEqual([[0], [1], [2, 3, 4], [5, 6, 7], [8, 9]])
    expect(mostRunning()).toBe(2)
    expect(await Promise.all(calls)).toEqual(Array.from({ length: 10 }, (_, input) => `row ${input}`))
  })

  it("runs each call of a failed statement again alone, so that one call's fault fails only that call", async () => {
    const { call, runs } = harness({ maxInFlight: 1, maxBatch: 8 })
    const calls = [1, 2, 3].map((input) => settled(call(input)))
    runs[0]!.finish()
    await tick()
    runs[1]!.fail(new Error('the statement failed'))
    await tick()
    expect(runs.slice(2).map((run) => [run.kind, run.inputs])).toEqual([['one', [2]], ['one', [3]]])
    runs[2]!.fail(new Error('2 is refused'))
    runs[3]!.finish()
    expect(await Promise.all(calls)).toEqual([{ value: 'row 1' }, { error: '2 is refused' }, { value: 'row 3' }])
  })

  it('answers a call that ran alone with its own failure', async () => {
    const { call, runs } = harness({ maxInFlight: 1, maxBatch: 8 })
    const only = settled(call(1))
    runs[0]!.fail(new Error('refused'))
    expect(await only).toEqual({ error: 'refused' })
    const next = call(2)
    await tick()
    expect(runs[1]!.kind).toBe('one')
    runs[1]!.finish()
    expect(await next).toBe('row 2')
  })

  it.each([
    [{ maxInFlight: 0, maxBatch: 8 }],
    [{ maxInFlight: 1, maxBatch: 0 }],
    [{ maxInFlight: Number.NaN, maxBatch: 8 }],
  ])('refuses options with no slot or no room in a batch (%o)', (options) => {
    expect(() => coalesced(async () => 0, async () => [], options)).toThrow(RangeError)
  })
})
