import { randomBytes, randomInt } from 'node:crypto'
import { hash, verify, type Algorithm } from '@node-rs/argon2'
import type { FieldError } from '../errors.js'

/** FastWrap's password policy: each rule a password breaks is reported on its own. */
export const PASSWORD_RULES: { rule: string; message: string; broken: (password: string) => boolean }[] = [
  { rule: 'length', message: 'must be at least 10 characters long', broken: (p) => [...p].length < 10 },
  { rule: 'lowercase', message: 'must contain a lowercase letter', broken: (p) => !/\p{Ll}/u.test(p) },
  { rule: 'uppercase', message: 'must contain an uppercase letter', broken: (p) => !/\p{Lu}/u.test(p) },
  { rule: 'digit', message: 'must contain a digit', broken: (p) => !/\p{Nd}/u.test(p) },
  { rule: 'special', message: 'must contain a special character (neither a letter, a digit nor a space)', broken: (p) => !/[^\p{L}\p{N}\s]/u.test(p) },
  { rule: 'whitespace', message: 'must not contain whitespace', broken: (p) => /\s/u.test(p) },
]

export function passwordProblems(password: string, pointer = '/password'): FieldError[] {
  return PASSWORD_RULES.filter((rule) => rule.broken(password)).map((rule) => ({ pointer, message: rule.message }))
}

// Argon2id (the binding's `Algorithm.Argon2id`; a const enum, which isolated builds cannot read).
const ARGON2ID = 2 as Algorithm

export function hashPassword(password: string): Promise<string> {
  return hash(password, { algorithm: ARGON2ID })
}

/** False for a wrong password and for a hash that is not argon2 at all (never throws on bad input). */
export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password)
  } catch {
    return false
  }
}

let dummy: Promise<string> | null = null

/**
 * A hash no password matches, checked when an email is unknown so that the answer takes as long as a
 * wrong password does.
 */
export function dummyPasswordHash(): Promise<string> {
  dummy ??= hashPassword(randomBytes(32).toString('base64url'))
  return dummy
}

const ALPHABET = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789-_.!@#%+='

/** A random password of 24 characters that meets the policy (for accounts the operator creates). */
export function generatePassword(): string {
  for (;;) {
    const password = Array.from({ length: 24 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('')
    if (passwordProblems(password).length === 0) return password
  }
}
