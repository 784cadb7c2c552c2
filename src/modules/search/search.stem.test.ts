import { describe, expect, it } from 'vitest'
import { stem } from './search.stem.js'

describe('stem', () => {
  // Porter's own examples, step by step, as the reference implementation stems them.
  it.each([
    ['caresses', 'caress'], ['ponies', 'poni'], ['cats', 'cat'], ['feed', 'feed'], ['agreed', 'agre'], ['plastered', 'plaster'],
    ['bled', 'bled'], ['motoring', 'motor'], ['sing', 'sing'], ['conflated', 'conflat'], ['troubled', 'troubl'], ['sized', 'size'],
    ['hopping', 'hop'], ['falling', 'fall'], ['hissing', 'hiss'], ['filing', 'file'], ['happy', 'happi'], ['sky', 'sky'],
    ['relational', 'relat'], ['conditional', 'condit'], ['rational', 'ration'], ['digitizer', 'digit'], ['operator', 'oper'],
    ['hopefulness', 'hope'], ['formaliti', 'formal'], ['sensibiliti', 'sensibl'], ['triplicate', 'triplic'], ['formative', 'form'],
    ['electrical', 'electr'], ['goodness', 'good'], ['revival', 'reviv'], ['allowance', 'allow'], ['airliner', 'airlin'],
    ['adjustable', 'adjust'], ['irritant', 'irrit'], ['replacement', 'replac'], ['adjustment', 'adjust'], ['adoption', 'adopt'],
    ['communism', 'commun'], ['activate', 'activ'], ['effective', 'effect'], ['bowdlerize', 'bowdler'], ['cease', 'ceas'],
    ['controll', 'control'], ['roll', 'roll'], ['allergy', 'allergi'], ['allergies', 'allergi'], ['generalizations', 'gener'],
  ])('%s → %s', (word, expected) => {
    expect(stem(word)).toBe(expected)
  })

  it.each(['as', 'e', '217', 'café', 'e-217'])('leaves %j as it is (too short, or not a to z only)', (word) => {
    expect(stem(word)).toBe(word)
  })
})
