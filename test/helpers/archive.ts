import { createHash } from 'node:crypto'
import type { LightMyRequestResponse } from 'fastify'
import { expect } from 'vitest'
import { bearer, createGptWithKey, type TestApp } from './test-app.js'

export const NDJSON = 'application/x-ndjson'

/** GET …/export with this token; the archive's text (asserted a 200 NDJSON answer). */
export async function exportGpt(t: TestApp, gptId: string, token: string, query = ''): Promise<string> {
  const response = await t.app.inject({ method: 'GET', url: `/v1/gpts/${gptId}/export${query}`, headers: bearer(token) })
  expect(response.statusCode, response.body).toBe(200)
  expect(response.headers['content-type']).toBe(NDJSON)
  return response.body
}

/** POST …/import of `archive` with this token; the answer, whatever it is. */
export function importGpt(t: TestApp, gptId: string, token: string, archive: string, contentType = NDJSON): Promise<LightMyRequestResponse> {
  return t.app.inject({ method: 'POST', url: `/v1/gpts/${gptId}/import`, headers: { ...bearer(token), 'content-type': contentType }, payload: archive })
}

/** A new GPT with an admin key: where an archive is imported. */
export async function emptyGpt(t: TestApp, gptId: string): Promise<string> {
  return (await createGptWithKey(t.services, gptId, ['read', 'write', 'admin'])).token
}

export const lines = (archive: string) => archive.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Record<string, unknown>)

/**
 * The records of an archive (header and trailer aside) with every UUID replaced by the order of its
 * first appearance: two archives of the same content with other ids compare equal.
 */
export function normalised(archive: string): string[] {
  const seen = new Map<string, string>()
  const records = archive.split('\n').filter((line) => line !== '').slice(1, -1)
  return records.map((line) =>
    line.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, (id) => {
      if (!seen.has(id)) seen.set(id, `id-${seen.size}`)
      return seen.get(id)!
    }),
  )
}

/**
 * An archive with its records changed by `edit`. `reseal`: a trailer with the counts and checksum of
 * the new lines (an archive made by hand, whose records are then judged alone); else the old trailer.
 */
export function edited(archive: string, edit: (records: Record<string, unknown>[]) => Record<string, unknown>[], reseal = true): string {
  const all = lines(archive)
  const [header, trailer] = [all[0]!, all[all.length - 1]!]
  const body = [header, ...edit(all.slice(1, -1))].map((line) => `${JSON.stringify(line)}\n`).join('')
  if (!reseal) return `${body}${JSON.stringify(trailer)}\n`
  const records = lines(body).slice(1)
  const counts = Object.fromEntries(Object.keys(trailer.counts as object).map((type) => [type, records.filter((r) => r.type === type).length]))
  return `${body}${JSON.stringify({ type: 'end', records: records.length, counts, sha256: createHash('sha256').update(body).digest('hex') })}\n`
}
