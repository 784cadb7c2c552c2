import { describe, expect, it } from 'vitest'
import { MAX_REQUEST_CHARS, REDACTED, sanitizeRequest } from './sanitize.js'

describe('sanitizeRequest', () => {
  it.each([
    ['no query, no body', {}, undefined, null],
    ['plain members kept', { limit: 5 }, { name: 'n', n: 1, ok: true, none: null }, { query: { limit: 5 }, body: { name: 'n', n: 1, ok: true, none: null } }],
    [
      'secret names redacted in any case and at any depth',
      { api_key: 'q', Token: 't', cursor: 'c' },
      { Password: 'p', a: { client_secret: 's', b: [{ refresh_token: 'r', code: 'c', authorization: 'x', zipcode: 1 }] } },
      {
        query: { api_key: REDACTED, Token: REDACTED, cursor: 'c' },
        body: { Password: REDACTED, a: { client_secret: REDACTED, b: [{ refresh_token: REDACTED, code: REDACTED, authorization: REDACTED, zipcode: 1 }] } },
      },
    ],
    ['a secret object is not walked', {}, { credentials: { user: 'u', pass: 'p' } }, { body: { credentials: REDACTED } }],
    ['long strings cut', {}, { text: 'y'.repeat(600) }, { body: { text: `${'y'.repeat(512)}…` } }],
    ['long lists cut', {}, { list: Array.from({ length: 25 }, (_, i) => i) }, { body: { list: [...Array.from({ length: 20 }, (_, i) => i), '[5 more]'] } }],
    ['a body that is text (NDJSON)', {}, 'line', { body: 'line' }],
  ])('%s', (_name, query, body, expected) => {
    expect(sanitizeRequest(query, body)).toEqual(expected)
  })

  it('cuts deep nesting', () => {
    let deep: unknown = 'bottom'
    for (let i = 0; i < 10; i++) deep = { d: deep }
    expect(JSON.stringify(sanitizeRequest({}, deep))).toContain('"[…]"')
    expect(JSON.stringify(sanitizeRequest({}, deep))).not.toContain('bottom')
  })

  it('keeps at most 4 kB of the whole request', () => {
    const body = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`field${i}`, 'z'.repeat(500)]))
    const kept = sanitizeRequest({}, body) as { truncated: boolean; json: string }
    expect(kept.truncated).toBe(true)
    expect(kept.json).toHaveLength(MAX_REQUEST_CHARS)
    expect(kept.json.startsWith('{"body":{"field0":"zzz')).toBe(true)
  })
})
