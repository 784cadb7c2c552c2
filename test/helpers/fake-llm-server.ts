import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A local stand-in for OpenAI's chat completions and Anthropic's Messages API that speaks their real
 * wire formats (server-sent events included), so that the official SDKs can be pointed at it.
 * Each request takes the next queued script, else the default one, and is recorded.
 */

export type FakeLlmProtocol = 'openai' | 'anthropic'

export interface FakeLlmScript {
  /** The text deltas to stream, in order (default: DEFAULT_FAKE_TOKENS). */
  tokens?: string[]
  /** Pause before each token, in ms (default 0). */
  delayMs?: number
  /** Answer with this HTTP status and the provider's error body instead of a reply. */
  status?: number
  /** The message of that error body, or of a failure event. */
  errorMessage?: string
  /** Fail after sending this many tokens, the way failMode says. */
  failAfter?: number
  /**
   * destroy: cut the connection (default for OpenAI, whose streams have no error event);
   * error: send the protocol's error event (default for Anthropic; OpenAI gets a `{"error":…}` chunk);
   * end: end the response cleanly but without the end-of-message events.
   */
  failMode?: 'destroy' | 'error' | 'end'
  /** Send this many tokens, then wait until release() (or close()) before sending the rest. */
  hold?: number
  /** finish_reason / stop_reason of the last event (default 'stop' / 'end_turn'). */
  finishReason?: string
}

export interface FakeLlmRequestBody {
  model?: string
  stream?: boolean
  system?: unknown
  messages?: { role: string; content: unknown }[]
  max_tokens?: number
  temperature?: number
  [key: string]: unknown
}

export interface FakeLlmRequest {
  protocol: FakeLlmProtocol
  method: string
  path: string
  headers: IncomingHttpHeaders
  body: FakeLlmRequestBody
}

export interface FakeLlmServer {
  /** http://127.0.0.1:<port> — the Anthropic SDK's baseURL. */
  readonly url: string
  /** `${url}/v1` — the OpenAI SDK's baseURL. */
  readonly openaiBaseUrl: string
  /** Every request, parsed, in arrival order. */
  readonly requests: FakeLlmRequest[]
  /** Queue scripts for the next requests, one each. */
  script(...scripts: FakeLlmScript[]): void
  /** The script for requests that find the queue empty. */
  setDefault(script: FakeLlmScript): void
  /** Resolves once some stream is waiting at its `hold` point. */
  held(): Promise<void>
  /** Lets every stream that is waiting at its `hold` point go on; returns how many there were. */
  release(): number
  /** How many streamed replies are being sent right now (a client that stops reading closes its own). */
  openStreams(): number
  /** Ends open streams and connections, then stops listening. */
  close(): Promise<void>
}

export const DEFAULT_FAKE_TOKENS = ['Hello', ' from', ' the', ' fake', ' model.']

export async function startFakeLlmServer(defaultScript: FakeLlmScript = {}): Promise<FakeLlmServer> {
  const requests: FakeLlmRequest[] = []
  const queue: FakeLlmScript[] = []
  let fallback = defaultScript
  let closing = false
  const holds = new Set<() => void>()
  const holdWatchers = new Set<() => void>()
  const closers = new Set<() => void>()

  /** Until release(); a stream whose client went away leaves the set, so that release() counts live ones. */
  const waitAtHold = (gone: Promise<void>): Promise<void> =>
    new Promise((resolve) => {
      holds.add(resolve)
      void gone.then(() => holds.delete(resolve))
      for (const watcher of holdWatchers) watcher()
      holdWatchers.clear()
    })

  const server = createServer((req, res) => {
    if (closing) return void res.destroy()
    void handle(req, res).catch(() => res.destroy())
  })

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/'
    if (req.method === 'GET' && path === '/v1/models') {
      return json(res, 200, { object: 'list', data: [{ id: 'fake-model', object: 'model', created: 0, owned_by: 'fake' }] })
    }
    const protocol: FakeLlmProtocol | null =
      path === '/v1/chat/completions' ? 'openai' : path === '/v1/messages' ? 'anthropic' : null
    if (req.method !== 'POST' || protocol === null) return json(res, 404, { error: { message: `no route ${req.method} ${path}` } })
    const text = await readBody(req)
    let body: FakeLlmRequestBody
    try {
      body = JSON.parse(text) as FakeLlmRequestBody
    } catch {
      return json(res, 400, errorBody(protocol, 400, 'body is not JSON'))
    }
    requests.push({ protocol, method: req.method, path, headers: req.headers, body })
    const script = queue.shift() ?? fallback
    if (script.status !== undefined) {
      const headers: Record<string, string> = script.status === 429 ? { 'retry-after': '1' } : {}
      return json(res, script.status, errorBody(protocol, script.status, script.errorMessage), headers)
    }
    const tokens = script.tokens ?? DEFAULT_FAKE_TOKENS
    const model = body.model ?? 'fake-model'
    if (body.stream !== true) return json(res, 200, fullReply(protocol, model, tokens.join(''), script.finishReason, body))
    await streamReply(res, protocol, model, tokens, script)
  }

  async function streamReply(
    res: ServerResponse,
    protocol: FakeLlmProtocol,
    model: string,
    tokens: string[],
    script: FakeLlmScript,
  ): Promise<void> {
    let gone = false
    let wake: () => void = () => {}
    const goneNow = new Promise<void>((resolve) => (wake = resolve))
    const onGone = () => {
      gone = true
      wake()
    }
    res.on('close', onGone)
    closers.add(onGone)
    const pause = (ms: number) =>
      Promise.race([goneNow, new Promise<void>((resolve) => setTimeout(resolve, ms).unref())])

    try {
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' })
      // Each write is awaited, so that a connection cut after n tokens comes after those n reached the socket.
      // A write to a connection the client closed may never call back; `goneNow` ends the wait then.
      const send = (text: string): Promise<void> =>
        gone ? Promise.resolve() : Promise.race([goneNow, new Promise<void>((resolve) => res.write(text, () => resolve()))])
      const wire = protocol === 'openai' ? openAiWire(model) : anthropicWire(model)
      for (const event of wire.start) await send(event)
      const failMode = script.failMode ?? (protocol === 'openai' ? 'destroy' : 'error')
      for (let index = 0; index <= tokens.length; index++) {
        if (index === script.hold) await Promise.race([goneNow, waitAtHold(goneNow)])
        if (gone) return
        if (index === script.failAfter) {
          if (failMode === 'destroy') res.destroy()
          else {
            if (failMode === 'error') await send(wire.error(script.errorMessage ?? 'Overloaded'))
            res.end()
          }
          return
        }
        const token = tokens[index]
        if (token === undefined) break
        if (script.delayMs) await pause(script.delayMs)
        if (gone) return
        await send(wire.delta(token))
      }
      for (const event of wire.finish(script.finishReason, tokens.length)) await send(event)
      res.end()
    } finally {
      closers.delete(onGone)
    }
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const url = `http://127.0.0.1:${port}`

  return {
    url,
    openaiBaseUrl: `${url}/v1`,
    requests,
    script: (...scripts) => void queue.push(...scripts),
    setDefault: (script) => void (fallback = script),
    held: () =>
      holds.size > 0 ? Promise.resolve() : new Promise<void>((resolve) => void holdWatchers.add(resolve)),
    release: () => {
      const count = holds.size
      for (const resolve of holds) resolve()
      holds.clear()
      return count
    },
    openStreams: () => closers.size,
    close: async () => {
      closing = true
      for (const close of closers) close()
      for (const resolve of holds) resolve()
      holds.clear()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

interface Wire {
  start: string[]
  delta(text: string): string
  finish(reason: string | undefined, tokenCount: number): string[]
  error(message: string): string
}

/** `data: <chunk>` lines, a final chunk with finish_reason, then `data: [DONE]`. */
function openAiWire(model: string): Wire {
  const id = `chatcmpl-fake${Date.now()}`
  const created = Math.floor(Date.now() / 1000)
  const chunk = (delta: Record<string, unknown>, finishReason: string | null) =>
    `data: ${JSON.stringify({
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      system_fingerprint: 'fp_fake',
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    })}\n\n`
  return {
    start: [chunk({ role: 'assistant', content: '' }, null)],
    delta: (text) => chunk({ content: text }, null),
    finish: (reason) => [chunk({}, reason ?? 'stop'), 'data: [DONE]\n\n'],
    error: (message) =>
      `data: ${JSON.stringify({ error: { message, type: 'server_error', param: null, code: null } })}\n\n`,
  }
}

/** Named events: message_start, content_block_start, ping, content_block_delta…, stops. */
function anthropicWire(model: string): Wire {
  const event = (name: string, data: Record<string, unknown>) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`
  return {
    start: [
      event('message_start', {
        type: 'message_start',
        message: {
          id: `msg_fake${Date.now()}`,
          type: 'message',
          role: 'assistant',
          content: [],
          model,
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: 10, output_tokens: 1 },
        },
      }),
      event('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
      event('ping', { type: 'ping' }),
    ],
    delta: (text) =>
      event('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } }),
    finish: (reason, tokenCount) => [
      event('content_block_stop', { type: 'content_block_stop', index: 0 }),
      event('message_delta', {
        type: 'message_delta',
        delta: { stop_reason: reason ?? 'end_turn', stop_sequence: null },
        usage: { output_tokens: tokenCount },
      }),
      event('message_stop', { type: 'message_stop' }),
    ],
    error: (message) => event('error', { type: 'error', error: { type: 'overloaded_error', message } }),
  }
}

/** Tokens the way the fake counts them: about four characters each (the usual rule of thumb for English). */
export function fakeTokenCount(text: string): number {
  return Math.ceil(text.length / 4)
}

/**
 * The prompt's tokens: system, messages and, as the real APIs count them, the output schema or tools.
 * Deterministic, so that a test or bench can predict the usage a reply reports.
 */
export function fakePromptTokens(body: FakeLlmRequestBody): number {
  const text = (value: unknown) => (typeof value === 'string' ? value : value === undefined ? '' : JSON.stringify(value))
  const parts = [text(body.system), ...(body.messages ?? []).map((message) => text(message.content)), text(body['response_format']), text(body['tools'])]
  return parts.reduce((sum, part) => sum + fakeTokenCount(part), 0)
}

/** A non-streamed reply; an Anthropic request that forces a tool gets the text as that tool's input when it is a JSON object. */
function fullReply(protocol: FakeLlmProtocol, model: string, text: string, reason: string | undefined, body: FakeLlmRequestBody): Record<string, unknown> {
  const promptTokens = fakePromptTokens(body)
  const outputTokens = fakeTokenCount(text)
  if (protocol === 'openai') {
    return {
      id: `chatcmpl-fake${Date.now()}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model,
      choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: reason ?? 'stop' }],
      usage: { prompt_tokens: promptTokens, completion_tokens: outputTokens, total_tokens: promptTokens + outputTokens },
    }
  }
  const choice = body['tool_choice'] as { type?: string; name?: string } | undefined
  const input = choice?.type === 'tool' ? jsonObject(text) : null
  return {
    id: `msg_fake${Date.now()}`,
    type: 'message',
    role: 'assistant',
    content: input ? [{ type: 'tool_use', id: 'toolu_fake', name: choice?.name, input }] : [{ type: 'text', text }],
    model,
    stop_reason: reason ?? (input ? 'tool_use' : 'end_turn'),
    stop_sequence: null,
    usage: { input_tokens: promptTokens, output_tokens: outputTokens },
  }
}

function jsonObject(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null
  } catch {
    return null
  }
}

const OPENAI_ERRORS: Record<number, { type: string; code: string | null }> = {
  400: { type: 'invalid_request_error', code: null },
  401: { type: 'invalid_request_error', code: 'invalid_api_key' },
  403: { type: 'invalid_request_error', code: 'unsupported_country_region_territory' },
  404: { type: 'invalid_request_error', code: 'model_not_found' },
  429: { type: 'requests', code: 'rate_limit_exceeded' },
}

const ANTHROPIC_ERRORS: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  529: 'overloaded_error',
}

/** The error bodies each API documents: OpenAI `{error:{message,type,param,code}}`, Anthropic `{type:'error',error:{type,message}}`. */
function errorBody(protocol: FakeLlmProtocol, status: number, message?: string): Record<string, unknown> {
  const text = message ?? `fake ${status} error`
  if (protocol === 'openai') {
    const kind = OPENAI_ERRORS[status] ?? { type: 'server_error', code: null }
    return { error: { message: text, type: kind.type, param: null, code: kind.code } }
  }
  const type = ANTHROPIC_ERRORS[status] ?? 'api_error'
  return { type: 'error', error: { type, message: text }, request_id: 'req_fake' }
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers })
  res.end(text)
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

export interface Collected {
  deltas: string[]
  text: string
  /** What the stream threw, if it did (after `deltas` were yielded). */
  error: unknown
}

/** Drains a provider stream, keeping what arrived before a failure. */
export async function collectDeltas(stream: AsyncIterable<string>): Promise<Collected> {
  const deltas: string[] = []
  let error: unknown = null
  try {
    for await (const delta of stream) deltas.push(delta)
  } catch (caught) {
    error = caught
  }
  return { deltas, text: deltas.join(''), error }
}
