import { uuidv7 } from 'uuidv7'
import type { JsonObject } from '../../platform/db/tables.js'
import { ownUser } from '../../platform/auth/principal.js'
import { ERR } from '../../platform/errors.js'
import { checkOffset, pageRequest, toPage, type Page, type PageRequest } from '../../platform/http/pagination.js'
import { timeIdAfter } from '../../platform/http/seek.js'
import { exceedsDepth } from '../../platform/json-depth.js'
import type { CharactersService } from '../characters/characters.service.js'
import type { SessionRow, SessionsRepository } from './sessions.repo.js'
import type { CreateSessionInput, ListSessionsQuery, PatchSessionInput, SessionView } from './sessions.schemas.js'

export function toSessionView(row: SessionRow): SessionView {
  return {
    id: row.id,
    gpt_id: row.gpt_id,
    user_id: row.user_id,
    name: row.name,
    metadata: row.metadata,
    character_id: row.character_id,
    is_favorite: row.is_favorite,
    unanswered_message_id: row.unanswered_message_id ?? null,
    last_activity_at: row.last_activity_at.toISOString(),
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  }
}

/** A decoded `(is_favorite, last_activity_at, id)` cursor key. */
function favoriteAfter(page: PageRequest): [boolean, Date, string] | null {
  if (!page.after) return null
  const [favorite, ...rest] = page.after
  const timeId = timeIdAfter({ ...page, after: rest })
  if (typeof favorite !== 'boolean' || !timeId) throw ERR.invalidCursor('The cursor is malformed.')
  return [favorite, ...timeId]
}

export interface SessionsLimits {
  defaultPageSize: number
  maxJsonDepth: number
}

export class SessionsService {
  constructor(
    private readonly repo: SessionsRepository,
    private readonly characters: CharactersService,
    private readonly limits: SessionsLimits,
  ) {}

  /** `user`: the end user the caller is confined to (null: the whole GPT); see ownUser. */
  async createSession(gptId: string, input: CreateSessionInput, user: string | null = null): Promise<SessionView> {
    const userId = ownUser(user, input.user_id, '/user_id', 'body')
    if (userId === undefined) throw ERR.validation('user_id is required.', [{ pointer: '/user_id', location: 'body', message: 'is required' }])
    const metadata = this.checkMetadata(input.metadata)
    await this.checkCharacter(gptId, input.character_id)
    const row = await this.repo.insertSession({
      gpt_id: gptId,
      id: uuidv7(),
      user_id: userId,
      name: input.name ?? null,
      metadata: metadata ?? {},
      character_id: input.character_id ?? null,
      is_favorite: input.is_favorite ?? false,
    })
    return toSessionView(row)
  }

  /** The session, or null when the GPT has no such session (or it is another end user's). */
  async findSession(gptId: string, id: string, user: string | null = null): Promise<SessionView | null> {
    const row = await this.repo.findSession(gptId, id)
    return row && (user === null || row.user_id === user) ? toSessionView(row) : null
  }

  /** The session; a missing one (or another GPT's, or another end user's) is a 404. */
  async getSession(gptId: string, id: string, user: string | null = null): Promise<SessionView> {
    const session = await this.findSession(gptId, id, user)
    if (!session) throw ERR.notFound('Session', id)
    return session
  }

  async updateSession(gptId: string, id: string, input: PatchSessionInput, user: string | null = null): Promise<SessionView> {
    // A session's user never changes, so checking it first leaves no race.
    if (user !== null) await this.getSession(gptId, id, user)
    const metadata = this.checkMetadata(input.metadata)
    await this.checkCharacter(gptId, input.character_id)
    const row = await this.repo.updateSession(gptId, id, { ...input, metadata })
    if (!row) throw ERR.notFound('Session', id)
    return toSessionView(row)
  }

  /**
   * Newest activity first by default (favorites before the others with sort=favorites); `q` matches a
   * substring of the name, ignoring case. With `offset`, the page starts there and carries the total.
   */
  async listSessions(gptId: string, query: ListSessionsQuery, user: string | null = null): Promise<Page<SessionView> & { total?: number }> {
    const userId = ownUser(user, query.user_id, 'user_id', 'query') ?? null
    const offset = checkOffset(query)
    const sort = query.sort ?? 'activity'
    const page = pageRequest(query, `sessions:${gptId}:${sort}`, { defaultPageSize: this.limits.defaultPageSize, order: 'desc' })
    const filters = { userId, favorite: query.favorite ?? null, q: query.q ?? null }
    const after = sort === 'favorites' ? favoriteAfter(page) : timeIdAfter(page)
    const [rows, total] = await Promise.all([
      this.repo.listSessions(gptId, filters, { ...page, sort, offset: offset ?? 0, after }),
      offset === null ? undefined : this.repo.countSessions(gptId, filters),
    ])
    const result = toPage(rows, page, (row) =>
      sort === 'favorites' ? [row.is_favorite, row.last_activity_at.toISOString(), row.id] : [row.last_activity_at.toISOString(), row.id],
    )
    return { ...result, items: result.items.map(toSessionView), ...(total === undefined ? {} : { total }) }
  }

  /** Deletes the session and all its messages. */
  async deleteSession(gptId: string, id: string, user: string | null = null): Promise<void> {
    if (user !== null) await this.getSession(gptId, id, user)
    if (!(await this.repo.deleteSession(gptId, id))) throw ERR.notFound('Session', id)
  }

  /** A session may only name a character of its GPT that is not deleted: 422 otherwise. */
  private async checkCharacter(gptId: string, characterId: string | null | undefined): Promise<void> {
    if (characterId === undefined || characterId === null) return
    if (await this.characters.findActiveCharacter(gptId, characterId)) return
    throw ERR.validation('The session refers to a character that does not exist in this GPT.', [
      { pointer: '/character_id', location: 'body', message: 'is not a character of this GPT (or it was deleted)' },
    ])
  }

  private checkMetadata(metadata: object | undefined): JsonObject | undefined {
    if (metadata !== undefined && exceedsDepth(metadata, this.limits.maxJsonDepth)) {
      throw ERR.validation(`The metadata nests deeper than ${this.limits.maxJsonDepth} levels (MAX_JSON_DEPTH).`, [
        { pointer: '/metadata', location: 'body', message: `must not nest deeper than ${this.limits.maxJsonDepth} levels` },
      ])
    }
    return metadata as JsonObject | undefined
  }
}
