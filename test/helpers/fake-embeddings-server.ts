import { createHash } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A stand-in for OpenAI's embeddings endpoint (`POST /v1/embeddings`) that speaks the real wire
 * protocol, so providers are tested through the real SDK and HTTP. Vectors are derived from a hash
 * of the text: the same text always gets the same unit vector, different texts unrelated ones.
 */
export interface FakeEmbeddingsServerOptions {
  /** Size of the vectors when the request does not ask for one (default 384). */
  dimensions?: number
  /** Milliseconds to wait before answering (default 0). */
  delayMs?: number
  /** When set, requests must carry `Authorization: Bearer <apiKey>`, else 401. */
  apiKey?: string
  /** Answer `data` in reverse order, as a server may: clients must order by `index`. */
  reverseOrder?: boolean
  /** Multiply every vector by this (default 1): servers such as Ollama's may not normalise. */
  scale?: number
}

export interface RecordedRequest {
  method: string
  path: string
  authorization: string | undefined
  body: unknown
}

export interface FakeEmbeddingsServer {
  /** Base URL for the SDK, ending in /v1. */
  readonly url: string
  readonly requests: RecordedRequest[]
  /** The next `count` requests get `status` with an OpenAI-style error body. */
  failNext(count: number, status: number): void
  /** The size of the vectors from now on; a `dimensions` in the request still wins, as with OpenAI. */
  setDimensions(dimensions: number): void
  setDelay(delayMs: number): void
  close(): Promise<void>
}

/** The vector the fake gives `text`: callers compare against it. */
export function fakeVector(text: string, dimensions: number, scale = 1): number[] {
  const values: number[] = []
  for (let block = 0; values.length < dimensions; block++) {
    const digest = createHash('sha256').update(`${block}\u0000${text}`).digest()
    for (let offset = 0; offset + 4 <= digest.length && values.length < dimensions; offset += 4) {
      values.push(digest.readUInt32LE(offset) / 0xffffffff - 0.5)
    }
  }
  const norm = Math.hypot(...values)
  return values.map((value) => (value / norm) * scale)
}

const ERROR_TYPES: Record<number, { type: string; code: string | null; message: string }> = {
  400: { type: 'invalid_request_error', code: null, message: 'Invalid request.' },
  401: { type: 'invalid_request_error', code: 'invalid_api_key', message: 'Incorrect API key provided.' },
  404: { type: 'invalid_request_error', code: 'model_not_found', message: 'The model does not exist.' },
  429: { type: 'requests', code: 'rate_limit_exceeded', message: 'Rate limit reached for requests.' },
  500: { type: 'server_error', code: null, message: 'The server had an error while processing your request.' },
  503: { type: 'server_error', code: null, message: 'The engine is currently overloaded.' },
}

export async function startFakeEmbeddingsServer(options: FakeEmbeddingsServerOptions = {}): Promise<FakeEmbeddingsServer> {
  let dimensions = options.dimensions ?? 384
  let delayMs = options.delayMs ?? 0
  const failures: number[] = []
  const requests: RecordedRequest[] = []
  const timers = new Set<NodeJS.Timeout>()

  const sendError = (res: ServerResponse, status: number, message?: string, param: string | null = null) => {
    const kind = ERROR_TYPES[status] ?? { type: 'api_error', code: null, message: `HTTP ${status}` }
    send(res, status, { error: { message: message ?? kind.message, type: kind.type, param, code: kind.code } })
  }

  const answer = (req: IncomingMessage, res: ServerResponse, raw: string) => {
    let body: unknown = raw
    try {
      body = JSON.parse(raw)
    } catch {
      // Recorded as sent; answered below.
    }
    const path = (req.url ?? '').split('?')[0] ?? ''
    requests.push({ method: req.method ?? '', path, authorization: req.headers.authorization, body })

    const failure = failures.shift()
    if (failure !== undefined) return sendError(res, failure)
    if (path !== '/v1/embeddings') return sendError(res, 404, `Unknown request URL: ${req.method} ${path}.`)
    if (req.method !== 'POST') return sendError(res, 405, `Method ${req.method} not allowed.`)
    if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      return sendError(res, 401)
    }
    if (typeof body !== 'object' || body === null) return sendError(res, 400, 'We could not parse the JSON body of your request.')

    const { model, input, dimensions: asked, encoding_format: format } = body as Record<string, unknown>
    if (typeof model !== 'string' || model === '') return sendError(res, 400, 'you must provide a model parameter', 'model')
    const texts = typeof input === 'string' ? [input] : input
    if (!Array.isArray(texts) || texts.length === 0 || texts.length > 2048 || texts.some((t) => typeof t !== 'string' || t === '')) {
      return sendError(res, 400, "'$.input' is invalid. Please check the API reference.", 'input')
    }
    if (asked !== undefined && (typeof asked !== 'number' || !Number.isInteger(asked) || asked < 1)) {
      return sendError(res, 400, "'$.dimensions' is invalid.", 'dimensions')
    }
    if (format !== undefined && format !== 'float' && format !== 'base64') {
      return sendError(res, 400, "'$.encoding_format' is invalid.", 'encoding_format')
    }
    const size = typeof asked === 'number' ? asked : dimensions
    const data = (texts as string[]).map((text, index) => {
      const vector = fakeVector(text, size, options.scale ?? 1)
      return { object: 'embedding', index, embedding: format === 'base64' ? toBase64(vector) : vector }
    })
    if (options.reverseOrder) data.reverse()
    const tokens = (texts as string[]).reduce((sum, text) => sum + text.split(/\s+/).filter(Boolean).length, 0)
    send(res, 200, { object: 'list', data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } })
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const respond = () => answer(req, res, Buffer.concat(chunks).toString('utf8'))
      if (delayMs <= 0) return respond()
      const timer = setTimeout(() => {
        timers.delete(timer)
        respond()
      }, delayMs)
      timers.add(timer)
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    failNext(count, status) {
      for (let i = 0; i < count; i++) failures.push(status)
    },
    setDimensions(next) {
      dimensions = next
    },
    setDelay(next) {
      delayMs = next
    },
    async close() {
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      // Keep-alive sockets of the client would hold close() open until they time out.
      server.closeAllConnections()
      await closed
    },
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-request-id': `req_fake_${Date.now().toString(36)}`,
  })
  res.end(text)
}

function toBase64(vector: number[]): string {
  const buffer = Buffer.alloc(vector.length * 4)
  vector.forEach((value, i) => buffer.writeFloatLE(value, i * 4))
  return buffer.toString('base64')
}
