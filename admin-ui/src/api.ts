/** One failing member of a request: a JSON pointer (into the part `location` names) and what is wrong; `line` in an import. */
export interface FieldError {
  pointer: string
  message: string
  location?: string
  line?: number
}

/** A problem+json answer of the API, kept whole so that pages can show its detail and field errors. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly errors: FieldError[] = [],
  ) {
    super(detail || title)
  }
}

export interface Session {
  kind: 'account' | 'operator'
  account_id: string | null
  csrf_token: string
  expires_at: string
}

let csrf = ''

/** Remembers the session's CSRF token: every write carries it. */
export function useSession(session: Session | null): void {
  csrf = session?.csrf_token ?? ''
}

/** The headers of a console request: the CSRF token on writes, and the GPT whose data it reaches. */
export function consoleHeaders(method: string, gpt?: string): Record<string, string> {
  const headers: Record<string, string> = {}
  if (method !== 'GET') headers['x-csrf-token'] = csrf
  if (gpt !== undefined) headers['agentstore-gpt'] = gpt
  return headers
}

/** The problem+json of a failed answer, as an ApiError. */
export async function problem(response: Response): Promise<ApiError> {
  const text = await response.text()
  let data: Record<string, unknown> = {}
  try {
    data = text ? (JSON.parse(text) as Record<string, unknown>) : {}
  } catch {
    // Not JSON (a proxy's page): the status line says enough.
  }
  const errors = Array.isArray(data.errors) ? (data.errors as FieldError[]) : []
  return new ApiError(response.status, String(data.title ?? response.statusText), String(data.detail ?? ''), errors)
}

export interface CallOptions {
  /** The GPT whose data the call reaches (Agentstore-GPT): the signed-in owner or operator acts as its admin key. */
  gpt?: string
  headers?: Record<string, string>
  /** A body sent as it is (an NDJSON import) instead of as JSON; `headers` names its type. */
  text?: string
}

/** A call to the console's server side (same origin; the HttpOnly cookie carries the session); a problem answer throws ApiError. */
export async function send(method: string, path: string, body?: unknown, options: CallOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers, ...consoleHeaders(method, options.gpt) }
  if (body !== undefined) headers['content-type'] = 'application/json'
  const payload = options.text ?? (body === undefined ? undefined : JSON.stringify(body))
  const response = await fetch(`/admin/api${path}`, { method, headers, credentials: 'same-origin', ...(payload === undefined ? {} : { body: payload }) })
  if (!response.ok) throw await problem(response)
  return response
}

/** A JSON call: the answer's body (undefined for 204). */
export async function call<T>(method: string, path: string, body?: unknown, options: CallOptions = {}): Promise<T> {
  const response = await send(method, path, body, options)
  if (response.status === 204) return undefined as T
  const text = await response.text()
  return (text ? JSON.parse(text) : {}) as T
}

/** What a page says when a call failed. */
export const describeFailure = (failure: unknown) => (failure instanceof ApiError ? failure.detail || failure.title : 'The server could not be reached.')

/** The API prefix of the signed-in principal: the operator's admin routes, or an account's own. */
export function base(session: Session): string {
  return session.kind === 'operator' ? '/v1/admin' : '/v1'
}

export interface Gpt {
  id: string
  name: string
  description: string | null
  created_at: string
}

export interface Key {
  id: string
  name: string | null
  scopes: string[]
  expires_at: string | null
  revoked_at: string | null
  last_used_at: string | null
  created_at: string
}

export const listGpts = (session: Session) => call<{ gpts: Gpt[] }>('GET', `${base(session)}/gpts?limit=100`).then((page) => page.gpts)

