import type { FastifyInstance, FastifyRequest } from 'fastify'
import { auditContext } from '../../platform/audit/audit.js'
import { SCOPES } from '../../platform/auth/principal.js'
import type { OAuthAccessService } from './oauth.access.service.js'
import { acceptForms, answerOAuthErrors, formParameters, noStore } from './oauth.form.js'
import type { OAuthResources } from './oauth.resources.js'
import type { OAuthTokensService } from './oauth.tokens.service.js'

interface Deps {
  tokens: OAuthTokensService
  access: OAuthAccessService
  resources: OAuthResources
}

const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post']
const protocol = { access: 'public' as const, ipBudget: true }
// Protocol endpoints are described by the metadata documents (RFC 8414), not in the house API's OpenAPI.
const hidden = { hide: true }

const credentials = (request: FastifyRequest) => ({ authorization: request.headers.authorization, form: formParameters(request) })

/** The token, revocation and introspection endpoints and the metadata documents of the OAuth server. */
export function oauthRoutes({ tokens, access, resources }: Deps) {
  return async (app: FastifyInstance) => {
    acceptForms(app)
    answerOAuthErrors(app)

    app.post('/oauth/token', { config: protocol, schema: hidden }, async (request, reply) =>
      noStore(reply).send(await tokens.token(credentials(request), auditContext(request))),
    )

    app.post('/oauth/revoke', { config: protocol, schema: hidden }, async (request, reply) => {
      await access.revoke(credentials(request), auditContext(request))
      return noStore(reply).code(200).send({})
    })

    app.post('/oauth/introspect', { config: protocol, schema: hidden }, async (request, reply) =>
      noStore(reply).send(await access.introspect(credentials(request))),
    )

    app.get('/.well-known/oauth-authorization-server', { config: { access: 'public' }, schema: hidden }, async () => ({
      issuer: resources.issuer,
      authorization_endpoint: `${resources.issuer}/oauth/authorize`,
      token_endpoint: `${resources.issuer}/oauth/token`,
      revocation_endpoint: `${resources.issuer}/oauth/revoke`,
      introspection_endpoint: `${resources.issuer}/oauth/introspect`,
      jwks_uri: `${resources.issuer}/.well-known/jwks.json`,
      scopes_supported: [...SCOPES],
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
      token_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS, 'none'],
      revocation_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS, 'none'],
      introspection_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
      code_challenge_methods_supported: ['S256'],
      authorization_response_iss_parameter_supported: true,
      service_documentation: `${resources.issuer}/docs`,
    }))

    // RFC 9728 §3.1: the document of a resource with a path is at the well-known path followed by that path.
    for (const [path, resource] of [
      ['/.well-known/oauth-protected-resource', resources.api],
      ['/.well-known/oauth-protected-resource/v1', resources.api],
      ['/.well-known/oauth-protected-resource/mcp', resources.mcp],
    ] as const) {
      app.get(path, { config: { access: 'public' }, schema: hidden }, async () => ({
        resource,
        authorization_servers: [resources.issuer],
        jwks_uri: `${resources.issuer}/.well-known/jwks.json`,
        scopes_supported: [...SCOPES],
        bearer_methods_supported: ['header'],
        resource_documentation: `${resources.issuer}/docs`,
      }))
    }
  }
}
