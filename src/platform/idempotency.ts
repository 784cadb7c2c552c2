import { createHash } from 'node:crypto'
import { sql, type Kysely, type Transaction } from 'kysely'
import { ERR } from './errors.js'
import type { Tables } from './db/tables.js'

export const IDEMPOTENCY_TTL_HOURS = 24
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/

export interface StoredResponse {
  status: number
  body: unknown
  headers: Record<string, string>
}

/** Identifies a request by what it asks for: same key with another fingerprint is a client error. */
export function requestFingerprint(method: string, path: string, body: unknown): string {
  return createHash('sha256').update(`${method} ${path}\n${JSON.stringify(body)}`).digest('hex')
}

class LostRace extends Error {}

/**
 * Runs a write at most once per (GPT, Idempotency-Key) within 24 hours: the first response is
 * stored in the same transaction as the write and replayed for repeats; the same key with another
 * request is 422. A concurrent repeat waits on the key's row and then replays.
 */
export class IdempotencyStore {
  constructor(private readonly db: Kysely<Tables>) {}

  async run(
    gptId: string,
    key: string,
    fingerprint: string,
    write: (trx: Transaction<Tables>) => Promise<StoredResponse>,
  ): Promise<StoredResponse & { replayed: boolean }> {
    if (!KEY_PATTERN.test(key)) {
      throw ERR.validation('The Idempotency-Key header is not valid.', [
        { pointer: '/Idempotency-Key', location: 'headers', message: 'must be 1–255 visible ASCII characters' },
      ])
    }
    const previous = await this.find(gptId, key, fingerprint)
    if (previous) return previous
    try {
      const response = await this.db.transaction().execute(async (trx) => {
        const result = await write(trx)
        const inserted = await trx
          .insertInto('idempotency_keys')
          .values({
            gpt_id: gptId,
            key,
            fingerprint,
            response_status: result.status,
            response_body: JSON.stringify(result.body),
            response_headers: JSON.stringify(result.headers),
          })
          .onConflict((oc) => oc.columns(['gpt_id', 'key']).doNothing())
          .returning('key')
          .executeTakeFirst()
        if (!inserted) throw new LostRace()
        return result
      })
      return { ...response, replayed: false }
    } catch (error) {
      if (!(error instanceof LostRace)) throw error
      const winner = await this.find(gptId, key, fingerprint)
      if (!winner) throw ERR.conflict('A request with this Idempotency-Key is being processed; retry.')
      return winner
    }
  }

  private async find(gptId: string, key: string, fingerprint: string): Promise<(StoredResponse & { replayed: true }) | null> {
    // An expired record must not block the key's reuse: deleted by the same statement (one round trip
    // before every first request). Only an expired one: a record committed meanwhile belongs to a
    // concurrent first request and must stay.
    const row = await this.db
      .with('expired', (db) =>
        db
          .deleteFrom('idempotency_keys')
          .where('gpt_id', '=', gptId)
          .where('key', '=', key)
          .where('created_at', '<=', sql<Date>`now() - make_interval(hours => ${IDEMPOTENCY_TTL_HOURS})`)
          .returning('key'),
      )
      .selectFrom('idempotency_keys')
      .selectAll('idempotency_keys')
      .where('gpt_id', '=', gptId)
      .where('key', '=', key)
      .where('created_at', '>', sql<Date>`now() - make_interval(hours => ${IDEMPOTENCY_TTL_HOURS})`)
      .executeTakeFirst()
    if (!row) return null
    if (row.fingerprint !== fingerprint) {
      throw ERR.validation('This Idempotency-Key was used for a different request.', [
        { pointer: '/Idempotency-Key', location: 'headers', message: 'was already used with another body or path' },
      ])
    }
    return { status: row.response_status, body: row.response_body, headers: row.response_headers, replayed: true }
  }
}
