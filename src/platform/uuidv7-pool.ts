import { randomFillSync } from 'node:crypto'

// UUIDv7 for hot paths (one audit row per request): the random bits come from a 4 KiB pool filled at
// once rather than from a call into the CSPRNG per id, and the text is built from a byte-to-hex table.

const pool = Buffer.allocUnsafe(4096)
let offset = pool.length
const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'))
/** 12 bits of rand_a and the first 30 of rand_b: a counter within one millisecond, as RFC 9562 method 1. */
const COUNTER_LIMIT = 2 ** 42

let lastMs = -1
let counter = 0

function take(bytes: number): number {
  if (offset + bytes > pool.length) {
    randomFillSync(pool)
    offset = 0
  }
  const at = offset
  offset += bytes
  return at
}

/**
 * A UUIDv7 of `now` (ms). Ids of one process increase: within a millisecond the counter goes up from a
 * random start (below half its range, so that it hardly ever runs over; then the time moves on by 1 ms).
 */
export function uuidv7(now = Date.now()): string {
  if (now > lastMs) {
    lastMs = now
    counter = pool.readUIntBE(take(6), 6) % (COUNTER_LIMIT / 2)
  } else if (++counter >= COUNTER_LIMIT) {
    lastMs += 1
    counter = 0
  }
  const ms = lastMs
  const tail = take(4)
  const c = counter
  return (
    HEX[Math.floor(ms / 2 ** 40) % 256]! + HEX[Math.floor(ms / 2 ** 32) % 256]! + HEX[(ms >>> 24) & 255]! + HEX[(ms >>> 16) & 255]! + '-' +
    HEX[(ms >>> 8) & 255]! + HEX[ms & 255]! + '-' +
    HEX[0x70 | (Math.floor(c / 2 ** 38) & 0x0f)]! + HEX[Math.floor(c / 2 ** 30) & 255]! + '-' +
    HEX[0x80 | (Math.floor(c / 2 ** 24) & 0x3f)]! + HEX[(c >>> 16) & 255]! + '-' +
    HEX[(c >>> 8) & 255]! + HEX[c & 255]! + HEX[pool[tail]!]! + HEX[pool[tail + 1]!]! + HEX[pool[tail + 2]!]! + HEX[pool[tail + 3]!]!
  )
}
