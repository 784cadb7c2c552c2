import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { callTool, mcpClient } from './helpers/mcp.js'
import { connectEndUser, registerApp, type TestOAuthApp } from './helpers/oauth.js'
import { bearer, createGptWithKey, createTestApp, injectJson, type TestApp } from './helpers/test-app.js'

/**
 * End users' OAuth tokens through what agents use: the GPT Action spec (which declares the OAuth flow
 * once the GPT has an app) and its action routes, and the MCP endpoint (tokens for its own audience).
 */

const GPT = 'agents-oauth-gpt'
let t: TestApp
let base: string
let key: string
let client: TestOAuthApp
const clients: Client[] = []

beforeAll(async () => {
  t = await createTestApp({ env: { LLM_PROVIDER: 'offline' } })
  await t.app.listen({ port: 0, host: '127.0.0.1' })
  const address = t.app.server.address()
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
  key = (await createGptWithKey(t.services, GPT, ['read', 'write', 'admin'])).token
})

afterAll(async () => {
  for (const mcp of clients) await mcp.close()
  await t.close()
})

const spec = async () => (await t.app.inject({ url: `/v1/gpts/${GPT}/openapi.json` })).json<{ components: { securitySchemes: Record<string, unknown> }; security: unknown[] }>()

describe('the Action spec follows the GPT\'s auth', () => {
  it('declares a Bearer key until the GPT has an OAuth app, then the authorization-code flow of this server', async () => {
    expect((await spec()).components.securitySchemes).toEqual({ bearerAuth: { type: 'http', scheme: 'bearer' } })
    client = await registerApp(t.app, GPT, key)
    const withApp = await spec()
    expect(withApp.security).toEqual([{ oauth2: ['read', 'write'] }])
    expect(withApp.components.securitySchemes.oauth2).toMatchObject({
      type: 'oauth2',
      flows: { authorizationCode: { authorizationUrl: 'http://agentstore.test/oauth/authorize', tokenUrl: 'http://agentstore.test/oauth/token' } },
    })
  })

  it("runs an action with an end user's token on that user's own data, and refuses mail", async () => {
    const alice = await connectEndUser(t.app, client, { email: 'alice@agents.example', password: 'Agents-Secret1' })
    const bob = await connectEndUser(t.app, client, { email: 'bob@agents.example', password: 'Agents-Secret1' })
    const remember = (token: string, content: string) => injectJson(t.app, 'POST', `/v1/gpts/${GPT}/actions/remember`, bearer(token), { content })
    expect((await remember(alice.access_token, 'alice likes jazz')).statusCode).toBe(200)
    expect((await remember(bob.access_token, 'bob likes rock')).statusCode).toBe(200)
    const listed = await injectJson(t.app, 'POST', `/v1/gpts/${GPT}/actions/list_memories`, bearer(alice.access_token), {})
    expect(listed.statusCode, listed.body).toBe(200)
    expect(listed.body).toContain('alice likes jazz')
    expect(listed.body).not.toContain('bob likes rock')
    const mail = await injectJson(t.app, 'POST', `/v1/gpts/${GPT}/actions/list_conversations`, bearer(alice.access_token), {})
    expect(mail.statusCode).toBe(403)
  })
})

describe('MCP with OAuth', () => {
  it('a 401 names the protected resource metadata, which names this authorization server', async () => {
    const response = await fetch(`${base}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{}' })
    expect(response.status).toBe(401)
    expect(response.headers.get('www-authenticate')).toBe('Bearer resource_metadata="http://agentstore.test/.well-known/oauth-protected-resource/mcp"')
    const metadata = (await t.app.inject({ url: '/.well-known/oauth-protected-resource/mcp' })).json()
    expect(metadata).toMatchObject({ resource: 'http://agentstore.test/mcp', authorization_servers: ['http://agentstore.test'] })
  })

  it("takes a token for the MCP endpoint (an end user's own memories), refuses one for the HTTP API", async () => {
    const carol = await connectEndUser(t.app, client, { email: 'carol@agents.example', password: 'Agents-Secret1' }, 'signup', { resource: 'http://agentstore.test/mcp' })
    const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { requestInit: { headers: bearer(carol.access_token) } })
    const mcp = await mcpClient(transport)
    clients.push(mcp)
    expect((await callTool(mcp, 'remember', { content: 'carol likes folk' })).isError).toBeFalsy()
    const listed = JSON.stringify(await callTool(mcp, 'list_memories', {}))
    expect(listed).toContain('carol likes folk')
    expect(listed).not.toContain('alice likes jazz')

    const apiToken = (await connectEndUser(t.app, client, { email: 'carol@agents.example', password: 'Agents-Secret1' }, 'signin')).access_token
    const refused = await fetch(`${base}/mcp`, { method: 'POST', headers: { ...bearer(apiToken), 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{}' })
    expect(refused.status).toBe(401)
    expect(refused.headers.get('www-authenticate')).toMatch(/resource_metadata=".*\/mcp", error="invalid_token"/)
    expect(await refused.text()).toMatch(/not meant for this resource/)
  })
})
