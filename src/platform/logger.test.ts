import { describe, expect, it } from 'vitest'
import { redactUrl, throttledWarning } from './logger.js'

describe('throttledWarning', () => {
  it('logs the first failure, then one per interval with the count of those suppressed', () => {
    const lines: { object: Record<string, unknown>; message: string }[] = []
    let now = 0
    const warn = throttledWarning({ warn: (object, message) => lines.push({ object: object as Record<string, unknown>, message }) }, 'down', 1000, () => now)
    warn(new Error('a'))
    now = 500
    warn(new Error('b'))
    warn(new Error('c'))
    now = 1000
    warn(new Error('d'))
    expect(lines.map((line) => [line.message, (line.object.err as Error).message, line.object.suppressed])).toEqual([
      ['down', 'a', 0],
      ['down', 'd', 2],
    ])
  })
})

describe('redactUrl', () => {
  it.each([
    ['/health', '/health'],
    ['/v1/x?limit=5&cursor=abc', '/v1/x?limit=5&cursor=abc'],
    ['/cb?code=c0de&state=s1', '/cb?code=[redacted]&state=s1'],
    ['/x?token=t1&api_key=k1&API_KEY=k2&apiKey=k3&key=k4', '/x?token=[redacted]&api_key=[redacted]&API_KEY=[redacted]&apiKey=[redacted]&key=[redacted]'],
    ['/x?access_token=a&refresh_token=r&id_token=i&client_secret=c&password=p&Passwd=q', '/x?access_token=[redacted]&refresh_token=[redacted]&id_token=[redacted]&client_secret=[redacted]&password=[redacted]&Passwd=[redacted]'],
    ['/s3?X-Amz-Signature=abc&X-Amz-Credential=id&sig=z&x=1', '/s3?X-Amz-Signature=[redacted]&X-Amz-Credential=[redacted]&sig=[redacted]&x=1'],
    // Encoded names are read as the server reads them.
    ['/x?%74oken=t&my%5Fsecret=s&bad%ZZkey=k', '/x?%74oken=[redacted]&my%5Fsecret=[redacted]&bad%ZZkey=[redacted]'],
    ['/x?token&token=&limit', '/x?token&token=[redacted]&limit'],
    ['/x?zipcode=12345&code_challenge=c', '/x?zipcode=12345&code_challenge=c'],
    ['/x?Authorization=b&authorisation=c&author=d', '/x?Authorization=[redacted]&authorisation=[redacted]&author=d'],
  ])('%s → %s', (url, expected) => {
    expect(redactUrl(url)).toBe(expected)
  })
})
