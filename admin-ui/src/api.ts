/** A problem+json answer of the API, kept whole so that pages can show its detail and field errors. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly errors: { pointer: string; message: string }[] = [],
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
  const errors = Array.isArray(data.errors) ? (data.errors as { pointer: string; message: string }[]) : []
  return new ApiError(response.status, String(data.title ?? response.statusText), String(data.detail ?? ''), errors)
}

/**
 * A JSON call to the console's server side (same origin; the HttpOnly cookie carries the session).
 * With `gpt`, the call reaches that GPT's data as its owner (the Agentstore-GPT header).
 */
export async function call<T>(method: string, path: string, body?: unknown, gpt?: string): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...consoleHeaders(method, gpt) }
  if (body !== undefined) headers['content-type'] = 'application/json'
  const response = await fetch(`/admin/api${path}`, {
    method,
    headers,
    credentials: 'same-origin',
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  if (!response.ok) throw await problem(response)
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

export interface GptStats {
  gpt_id: string
  documents: number
  memories: number
  sessions: number
  agents: number
  unread_mail: number
}

export const gptStats = (session: Session, gptId: string) => call<GptStats>('GET', `${base(session)}/gpts/${encodeURIComponent(gptId)}/stats`)
