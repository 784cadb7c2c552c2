import { sql, type RawBuilder } from 'kysely'

/**
 * The one rule of document expiry, by the database clock: a document of a collection with
 * `ttl_seconds` is expired once that many seconds have passed since its last write (`updated_at`).
 * It is computed when read, not stored, so that a change of the TTL applies at once to every
 * document; reads hide what `isExpired` holds for, and the purge job deletes exactly that.
 */
export function isExpired(updatedAt: RawBuilder<unknown>, ttlSeconds: RawBuilder<unknown>): RawBuilder<boolean> {
  return sql<boolean>`${updatedAt} <= now() - make_interval(secs => ${ttlSeconds})`
}

/** True for a live document of the row alias `alias` (`objects`, or `x` in a raw query). */
export function notExpired(alias: string): RawBuilder<boolean> {
  const column = (name: string) => sql.ref(`${alias}.${name}`)
  return sql<boolean>`not exists (select 1 from collections ttl where ttl.gpt_id = ${column('gpt_id')}
    and ttl.name = ${column('collection')} and ttl.ttl_seconds is not null and ${isExpired(column('updated_at'), sql`ttl.ttl_seconds`)})`
}
