import { expect } from 'vitest'
import type { ExtractionRunView } from '../../src/modules/extraction/extraction.schemas.js'
import type { MemoryView } from '../../src/modules/memories/memories.schemas.js'
import { bearer, injectJson, type HttpMethod, type TestApp } from './test-app.js'

/** Calls of one test app with one key. */
export function extractionApi(t: () => TestApp, token: () => string, gptId: string) {
  const call = (method: HttpMethod, url: string, body?: unknown, as = token()) => injectJson(t().app, method, url, bearer(as), body)

  async function session(userId: string, characterId?: string): Promise<string> {
    const response = await call('POST', `/v1/gpts/${gptId}/sessions`, { user_id: userId, ...(characterId ? { character_id: characterId } : {}) })
    expect(response.statusCode, response.body).toBe(201)
    return response.json<{ id: string }>().id
  }

  async function say(sessionId: string, ...texts: string[]): Promise<string[]> {
    const ids: string[] = []
    for (const content of texts) {
      const response = await call('POST', `/v1/sessions/${sessionId}/messages`, { sender: 'user', content })
      expect(response.statusCode, response.body).toBe(201)
      ids.push(response.json<{ id: string }>().id)
    }
    return ids
  }

  /** GET until the run leaves queued/running (the runs of a test app run in its own process). */
  async function settled(runId: string): Promise<ExtractionRunView> {
    for (let round = 0; round < 2000; round++) {
      const response = await call('GET', `/v1/extractions/${runId}`)
      expect(response.statusCode, response.body).toBe(200)
      const run = response.json<ExtractionRunView>()
      if (run.status !== 'queued' && run.status !== 'running') return run
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    throw new Error(`run ${runId} never settled`)
  }

  /** POST …/extract, checked (202, Location), then the run once settled. */
  async function extract(sessionId: string): Promise<ExtractionRunView> {
    const response = await call('POST', `/v1/sessions/${sessionId}/extract`)
    expect(response.statusCode, response.body).toBe(202)
    const run = response.json<ExtractionRunView>()
    expect(response.headers.location).toBe(`/v1/extractions/${run.id}`)
    return settled(run.id)
  }

  async function memories(userId: string): Promise<MemoryView[]> {
    const response = await call('GET', `/v1/gpts/${gptId}/memories?user_id=${userId}&limit=200`)
    expect(response.statusCode, response.body).toBe(200)
    return response.json<{ memories: MemoryView[] }>().memories
  }

  return { call, session, say, settled, extract, memories }
}
