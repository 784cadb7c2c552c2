import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeProtectedHeader } from 'jose'
import { postForm, registerApp, type TestOAuthApp } from './helpers/oauth.js'
import { bearer, createGptWithKey, createTestApp, type TestApp } from './helpers/test-app.js'

let t: TestApp
let client: TestOAuthApp

beforeAll(async () => {
  t = await createTestApp()
  const { token } = await createGptWithKey(t.services, 'keys-gpt', ['read', 'write', 'admin'])
  client = await registerApp(t.app, 'keys-gpt', token)
})

afterAll(async () => {
  await t.close()
})

async function appToken(): Promise<string> {
  const response = await postForm(t.app, '/oauth/token', { grant_type: 'client_credentials' }, { id: client.client_id, secret: client.client_secret! })
  expect(response.statusCode, response.body).toBe(200)
  return response.json<{ access_token: string }>().access_token
}

const jwksKids = async () => (await t.app.inject({ url: '/.well-known/jwks.json' })).json<{ keys: { kid: string }[] }>().keys.map((key) => key.kid)
const status = async (token: string) => (await t.app.inject({ url: '/v1/gpts/keys-gpt', headers: bearer(token) })).statusCode

describe('signing key rotation', () => {
  it('signs new tokens with the new key, keeps the old one verifying and published, until the purge after their lifetime', async () => {
    const before = await appToken()
    const oldKid = decodeProtectedHeader(before).kid!
    const rotated = await t.services.signingKeys.rotate()
    expect(rotated.retired).toEqual([oldKid])
    const after = await appToken()
    expect(decodeProtectedHeader(after).kid).toBe(rotated.kid)
    expect(await jwksKids()).toEqual(expect.arrayContaining([oldKid, rotated.kid]))
    expect(await status(before)).toBe(200)
    expect(await status(after)).toBe(200)

    // Within its tokens' lifetime, a retired key survives the purge.
    expect(await t.services.signingKeys.purgeRetired()).toBe(0)
    await t.db.database.db.updateTable('signing_keys').set({ retired_at: new Date(Date.now() - 16 * 60_000) }).where('kid', '=', oldKid).execute()
    expect(await t.services.signingKeys.purgeRetired()).toBe(1)
    const fresh = await createTestApp({ db: t.db })
    try {
      const kids = (await fresh.app.inject({ url: '/.well-known/jwks.json' })).json<{ keys: { kid: string }[] }>().keys.map((key) => key.kid)
      expect(kids).toEqual([rotated.kid])
      expect((await fresh.app.inject({ url: '/v1/gpts/keys-gpt', headers: bearer(before) })).statusCode).toBe(401)
      expect((await fresh.app.inject({ url: '/v1/gpts/keys-gpt', headers: bearer(after) })).statusCode).toBe(200)
    } finally {
      await fresh.close()
    }
  })
})
