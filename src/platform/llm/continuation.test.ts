import { describe, expect, it } from 'vitest'
import { collectDeltas } from '../../../test/helpers/fake-llm-server.js'
import { dropRepeatedPrefix, joinAfterPrefill, splitPrefill } from './continuation.js'

async function* from(deltas: string[]): AsyncGenerator<string> {
  yield* deltas
}

describe('continuation helpers', () => {
  it('splits a partial reply into a prefill without trailing whitespace and its tail', () => {
    expect(splitPrefill('Hello there \n ')).toEqual({ prefill: 'Hello there', tail: ' \n ' })
    expect(splitPrefill('Hello')).toEqual({ prefill: 'Hello', tail: '' })
    expect(splitPrefill('  ')).toEqual({ prefill: '', tail: '  ' })
  })

  it.each([
    ['regenerated tail is dropped', ' ', [' world'], 'world'],
    ['tail split over deltas', '\n\n', ['\n', '\nNext'], 'Next'],
    ['longer whitespace keeps its extra part', ' ', ['  x'], ' x'],
    ['different whitespace keeps the stored one only', ' ', ['\nx'], 'x'],
    ['no whitespace from the model', ' ', ['x', 'y'], 'xy'],
    ['only whitespace from the model', ' ', [' ', ' '], ''],
    ['later whitespace is untouched', ' ', ['a', ' ', 'b'], 'a b'],
    ['no tail passes through', '', [' a'], ' a'],
  ])('joinAfterPrefill: %s', async (_name, tail, deltas, expected) => {
    expect((await collectDeltas(joinAfterPrefill(from(deltas), tail))).text).toBe(expected)
  })

  it.each([
    ['a real continuation passes', 'Why did', [' the', ' chicken'], ' the chicken'],
    ['a full restart is dropped', 'Why did', ['Why', ' did the', ' chicken'], ' the chicken'],
    ['a restart in one delta is dropped', 'Why did', ['Why did the'], ' the'],
    ['a reply that only matches the start is kept', 'Why did', ['Wh', 'o knows'], 'Who knows'],
    ['a short reply equal to a prefix is kept', 'Why did', ['Why'], 'Why'],
    ['empty already passes through', '', ['a'], 'a'],
  ])('dropRepeatedPrefix: %s', async (_name, already, deltas, expected) => {
    expect((await collectDeltas(dropRepeatedPrefix(from(deltas), already))).text).toBe(expected)
  })
})
