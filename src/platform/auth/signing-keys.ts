import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose'
import { sql, type Kysely } from 'kysely'
import type { Tables } from '../db/tables.js'
import type { EventBus } from '../events/event-bus.js'

export const SIGNING_ALG = 'ES256'

interface LoadedKey {
  kid: string
  publicJwk: JWK
  publicKey: CryptoKey
  privateKey: CryptoKey | null
}

interface KeySet {
  /** The key new tokens are signed with: the oldest active one, so that processes that raced agree. */
  signer: LoadedKey
  byKid: Map<string, LoadedKey>
}

/** How often an unknown `kid` may make a process read the table again (a rotation elsewhere). */
const RELOAD_INTERVAL_MS = 30_000
const CHANNEL = 'signing_keys.rotated'

/**
 * The ES256 keys that sign access tokens, kept in the database so that every process signs and
 * verifies alike. The first start makes one; there is no built-in default key.
 */
export class SigningKeyStore {
  private loading: Promise<KeySet> | null = null
  private loadedAt = 0

  /**
   * `retiredKeepSeconds`: how long a retired key still verifies (and is published in the JWKS): the
   * longest lifetime of a token it signed. `bus`: tells every process of a rotation at once.
   */
  constructor(
    private readonly db: Kysely<Tables>,
    private readonly retiredKeepSeconds: number,
    private readonly bus: EventBus | null = null,
  ) {
    bus?.subscribe(CHANNEL, () => {
      this.loading = null
    })
  }

  /**
   * A new signing key: the current ones retire (they stop signing and keep verifying the tokens they
   * signed until those expire). Every process signs with the new key from its next token on.
   */
  async rotate(): Promise<{ kid: string; retired: string[] }> {
    const retired = await this.db.transaction().execute(async (trx) => {
      const rows = await trx.updateTable('signing_keys').set({ retired_at: sql`now()` }).where('retired_at', 'is', null).returning('kid').execute()
      await this.create(trx)
      return rows.map((row) => row.kid)
    })
    this.loading = null
    await this.bus?.publish(CHANNEL, {}).catch(() => {
      // Other processes then find the new key when a token names it (an unknown kid reloads).
    })
    return { kid: (await this.signer()).kid, retired }
  }

  /** Deletes retired keys whose tokens have all expired. */
  async purgeRetired(): Promise<number> {
    const result = await this.db
      .deleteFrom('signing_keys')
      .where('retired_at', '<', sql<Date>`now() - make_interval(secs => ${this.retiredKeepSeconds})`)
      .executeTakeFirst()
    return Number(result.numDeletedRows)
  }

  /** Makes sure a signing key exists (called at start; everything else also calls it lazily). */
  async ensure(): Promise<void> {
    await this.keys()
  }

  async signer(): Promise<{ kid: string; privateKey: CryptoKey }> {
    const { signer } = await this.keys()
    return { kid: signer.kid, privateKey: signer.privateKey! }
  }

  /** The public key of `kid`, reading the table again (at most every 30 s) when it is not known. */
  async publicKey(kid: string): Promise<CryptoKey | null> {
    const found = (await this.keys()).byKid.get(kid)
    if (found) return found.publicKey
    if (Date.now() - this.loadedAt < RELOAD_INTERVAL_MS) return null
    this.loading = null
    return (await this.keys()).byKid.get(kid)?.publicKey ?? null
  }

  /** The JSON Web Key Set of /.well-known/jwks.json: public parts only. */
  async jwks(): Promise<{ keys: JWK[] }> {
    return { keys: [...(await this.keys()).byKid.values()].map((key) => key.publicJwk) }
  }

  private keys(): Promise<KeySet> {
    this.loading ??= this.load().catch((error: unknown) => {
      this.loading = null
      throw error
    })
    return this.loading
  }

  private async load(): Promise<KeySet> {
    let rows = await this.rows()
    if (!rows.some((row) => row.retired_at === null)) {
      await this.create()
      rows = await this.rows()
    }
    const byKid = new Map<string, LoadedKey>()
    let signer: LoadedKey | null = null
    for (const row of rows) {
      const publicJwk = { ...row.public_jwk, kid: row.kid, alg: SIGNING_ALG, use: 'sig' } as JWK
      const key: LoadedKey = {
        kid: row.kid,
        publicJwk,
        publicKey: (await importJWK(publicJwk, SIGNING_ALG)) as CryptoKey,
        privateKey: row.retired_at === null ? ((await importJWK(row.private_jwk as JWK, SIGNING_ALG)) as CryptoKey) : null,
      }
      byKid.set(row.kid, key)
      if (!signer && row.retired_at === null) signer = key
    }
    this.loadedAt = Date.now()
    return { signer: signer!, byKid }
  }

  /** The active keys and the retired ones that may still have unexpired tokens. */
  private rows() {
    return this.db
      .selectFrom('signing_keys')
      .selectAll()
      .where('alg', '=', SIGNING_ALG)
      .where((eb) => eb.or([eb('retired_at', 'is', null), eb('retired_at', '>', sql<Date>`now() - make_interval(secs => ${this.retiredKeepSeconds})`)]))
      .orderBy('created_at')
      .orderBy('kid')
      .execute()
  }

  private async create(db: Kysely<Tables> = this.db): Promise<void> {
    const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true })
    const publicJwk = await exportJWK(publicKey)
    const kid = await calculateJwkThumbprint(publicJwk)
    await db
      .insertInto('signing_keys')
      .values({ kid, alg: SIGNING_ALG, public_jwk: JSON.stringify(publicJwk), private_jwk: JSON.stringify(await exportJWK(privateKey)) })
      .onConflict((oc) => oc.column('kid').doNothing())
      .execute()
  }
}
