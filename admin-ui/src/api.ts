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

/** A JSON call to the console's server side (same origin; the HttpOnly cookie carries the session). */
export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' }
  if (method !== 'GET') headers['x-csrf-token'] = csrf
  if (body !== undefined) headers['content-type'] = 'application/json'
  const response = await fetch(`/admin/api${path}`, {
    method,
    headers,
    credentials: 'same-origin',
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  if (response.status === 204) return undefined as T
  const text = await response.text()
  const data = text ? (JSON.parse(text) as Record<string, unknown>) : {}
  if (!response.ok) {
    const errors = Array.isArray(data.errors) ? (data.errors as { pointer: string; message: string }[]) : []
    throw new ApiError(response.status, String(data.title ?? response.statusText), String(data.detail ?? ''), errors)
  }
  return data as T
}

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
