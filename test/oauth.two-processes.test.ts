import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migratedPostgresDatabase, startService, withLogs, type ServiceProcess } from './helpers/service-process.js'

/**
 * An OAuth access token revoked on one process (RFC 7009), or whose grant ends there, is refused by
 * another process within a second, though the other process had just accepted it. The token cache's
 * TTL is a minute here, so that only the revocation event can explain a prompt 401.
 */

const SERVER_URL = process.env.TEST_DATABASE_URL
const REDIS_URL = process.env.REDIS_URL
const adminToken = randomBytes(24).toString('hex')
const processes: ServiceProcess[] = []

async function call(method: string, url: string, token: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await response.text()
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }
}

function form(url: string, fields: Record<string, string>, client: { id: string; secret: string }) {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}` },
    body: new URLSearchParams(fields),
  })
}

async function msUntilRefused(url: string, token: string, since: number): Promise<number | null> {
  while (Date.now() - since < 3000) {
    if ((await call('GET', url, token)).status === 401) return Date.now() - since
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return null
}

describe.skipIf(!SERVER_URL || !REDIS_URL)('OAuth token revocation across processes (PostgreSQL and Redis)', () => {
  let database: { url: string; drop(): Promise<void> }

  beforeAll(async () => {
    database = await migratedPostgresDatabase(SERVER_URL!, 'agentstore_oauth2p')
  })

  afterAll(async () => {
    await Promise.all(processes.map((service) => service.stop()))
    await database?.drop()
  })

  it('a token revoked on A, then a token whose app is deleted on A, is refused by B within a second', async () => {
    const env = { DATABASE_URL: database.url, ADMIN_TOKEN: adminToken, KEY_CACHE_TTL_MS: '60000', REDIS_URL: REDIS_URL!, REDIS_PREFIX: `test:${randomBytes(4).toString('hex')}:` }
    const pair = await Promise.all([startService('oauth-a', env), startService('oauth-b', env)])
    processes.push(...pair)
    const [a, b] = pair
    await withLogs(pair, async () => {
      expect((await call('POST', `${a.url}/v1/admin/gpts`, adminToken, { id: 'oauth-2p', name: 'two processes' })).status).toBe(201)
      const key = await call('POST', `${a.url}/v1/admin/gpts/oauth-2p/keys`, adminToken, { scopes: ['read', 'write', 'admin'] })
      const app = await call('POST', `${a.url}/v1/gpts/oauth-2p/apps`, String(key.body.key), { name: 'replay', redirect_uris: ['https://app.example.com/cb'] })
      expect(app.status).toBe(201)
      const client = { id: String(app.body.client_id), secret: String(app.body.client_secret) }
      const issue = async () => ((await (await form(`${a.url}/oauth/token`, { grant_type: 'client_credentials' }, client)).json()) as { access_token: string }).access_token

      const revoked = await issue()
      expect((await call('GET', `${b.url}/v1/gpts/oauth-2p`, revoked)).status).toBe(200)
      const since = Date.now()
      expect((await form(`${a.url}/oauth/revoke`, { token: revoked }, client)).status).toBe(200)
      const elapsed = await msUntilRefused(`${b.url}/v1/gpts/oauth-2p`, revoked, since)
      expect(elapsed, 'B still accepted the revoked token after 3 s').not.toBeNull()
      expect(elapsed!).toBeLessThan(1000)

      const orphaned = await issue()
      expect((await call('GET', `${b.url}/v1/gpts/oauth-2p`, orphaned)).status).toBe(200)
      const deletedAt = Date.now()
      expect((await call('DELETE', `${a.url}/v1/apps/${String(app.body.id)}`, String(key.body.key))).status).toBe(204)
      const gone = await msUntilRefused(`${b.url}/v1/gpts/oauth-2p`, orphaned, deletedAt)
      expect(gone, "B still accepted a deleted app's token after 3 s").not.toBeNull()
      expect(gone!).toBeLessThan(1000)
    })
  }, 120_000)
})
