import { describe, expect, it } from 'vitest'
import { dummyPasswordHash, generatePassword, hashPassword, passwordProblems, verifyPassword } from './password.js'

const MESSAGES = {
  length: 'must be at least 10 characters long',
  lowercase: 'must contain a lowercase letter',
  uppercase: 'must contain an uppercase letter',
  digit: 'must contain a digit',
  special: 'must contain a special character (neither a letter, a digit nor a space)',
  whitespace: 'must not contain whitespace',
}

describe('password policy (FastWrap: ≥ 10 characters, lower, upper, digit, special, no whitespace)', () => {
  const cases: { name: string; password: string; broken: (keyof typeof MESSAGES)[] }[] = [
    { name: 'meets every rule', password: 'Valid-Pass1', broken: [] },
    { name: 'exactly 10 characters', password: 'Abcdefg1!x', broken: [] },
    { name: 'too short', password: 'Abc1!xyz', broken: ['length'] },
    { name: 'no lowercase letter', password: 'VALID-PASS1', broken: ['lowercase'] },
    { name: 'no uppercase letter', password: 'valid-pass1', broken: ['uppercase'] },
    { name: 'no digit', password: 'Valid-Passw', broken: ['digit'] },
    { name: 'no special character', password: 'ValidPass12', broken: ['special'] },
    { name: 'a space', password: 'Valid Pass1!', broken: ['whitespace'] },
    { name: 'a tab', password: 'Valid\tPass1!', broken: ['whitespace'] },
    { name: 'letters of other scripts count', password: 'Ärger-über1', broken: [] },
    { name: 'empty: every rule but whitespace', password: '', broken: ['length', 'lowercase', 'uppercase', 'digit', 'special'] },
    { name: 'all six at once', password: ' ', broken: ['length', 'lowercase', 'uppercase', 'digit', 'special', 'whitespace'] },
  ]

  it.each(cases)('$name', ({ password, broken }) => {
    expect(passwordProblems(password)).toEqual(broken.map((rule) => ({ pointer: '/password', message: MESSAGES[rule] })))
  })

  it('names the pointer it is given', () => {
    expect(passwordProblems('short', '/new')).toContainEqual({ pointer: '/new', message: MESSAGES.length })
  })
})

describe('argon2id hashing', () => {
  it('hashes with argon2id and verifies only the same password', async () => {
    const hash = await hashPassword('Valid-Pass1')
    expect(hash).toMatch(/^\$argon2id\$/)
    expect(await verifyPassword(hash, 'Valid-Pass1')).toBe(true)
    expect(await verifyPassword(hash, 'Valid-Pass2')).toBe(false)
  })

  it('answers false, not an error, for a hash that is not argon2', async () => {
    expect(await verifyPassword('not-a-hash', 'Valid-Pass1')).toBe(false)
  })

  it('has a dummy hash that no generated password matches', async () => {
    const dummy = await dummyPasswordHash()
    expect(dummy).toMatch(/^\$argon2id\$/)
    expect(await verifyPassword(dummy, generatePassword())).toBe(false)
  })

  it('generates passwords that meet the policy', () => {
    for (let i = 0; i < 50; i++) expect(passwordProblems(generatePassword())).toEqual([])
  })
})
