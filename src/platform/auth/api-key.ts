import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { uuidv7 } from 'uuidv7'

/** `ak_<32 hex id>_<43 base64url chars: 256 random bits>` */
const KEY_PATTERN = /^ak_([0-9a-f]{32})_([A-Za-z0-9_-]{43})$/

export interface IssuedKey {
  id: string
  token: string
  secretHash: Buffer
}

export function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret).digest()
}

export function issueApiKey(): IssuedKey {
  const id = uuidv7()
  const secret = randomBytes(32).toString('base64url')
  return { id, token: `ak_${id.replaceAll('-', '')}_${secret}`, secretHash: hashSecret(secret) }
}

/** An opaque refresh token: 256 random bits, of which only the SHA-256 is stored. */
export function newRefreshToken(): { token: string; hash: Buffer } {
  const token = randomBytes(32).toString('base64url')
  return { token, hash: hashSecret(token) }
}

/** Splits a token into its key id (as a UUID) and secret, or null when it is not an API key. */
export function parseApiKey(token: string): { id: string; secret: string } | null {
  const match = KEY_PATTERN.exec(token)
  if (!match) return null
  const hex = match[1]!
  const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
  return { id, secret: match[2]! }
}

export function secretMatches(secret: string, storedHash: Buffer): boolean {
  const candidate = hashSecret(secret)
  return candidate.length === storedHash.length && timingSafeEqual(candidate, storedHash)
}

/** Constant-time comparison of two tokens of any length (hashed first so that lengths do not leak). */
export function tokensEqual(given: string, expected: string): boolean {
  return timingSafeEqual(hashSecret(given), hashSecret(expected))
}
