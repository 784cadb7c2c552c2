/** Three base64url segments (the last, the signature, may be empty): only a hint, every verifier checks the rest. */
const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]*$/

/** Whether a bearer token has the shape of a JWT, as opposed to an API key or a refresh token. */
export function isJwt(token: string): boolean {
  return JWT_SHAPE.test(token)
}
