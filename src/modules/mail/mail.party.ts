import { sql, type RawBuilder } from 'kysely'
import type { GptPrincipal } from '../../platform/auth/principal.js'

/** A GPT's key (maybe bound to an agent) or an app's access token. */
export type KeyPrincipal = GptPrincipal

/**
 * The one rule for who sees a mail: a key bound to an agent sees only the mail that agent sent or
 * received (its "party"); a GPT key sees all of its GPT's mail. Every read that returns mail or
 * counts it (a mail, inbox, conversation details, conversation lists) goes through `partyOf` and
 * one of the two checks below, which say the same thing in memory and in SQL.
 */
export function partyOf(principal: KeyPrincipal): string | null {
  return principal.agentId
}

export function isParty(mail: { from: string; to: readonly { agent_id: string }[] }, party: string | null): boolean {
  return party === null || mail.from === party || mail.to.some((to) => to.agent_id === party)
}

/** `isParty` over a mail row aliased `m`, for a `where`. */
export function partyCondition(party: string | null): RawBuilder<boolean> {
  if (party === null) return sql<boolean>`true`
  return sql<boolean>`(m.sender_id = ${party} or exists (
    select 1 from mail_recipients pr where pr.gpt_id = m.gpt_id and pr.mail_id = m.id and pr.agent_id = ${party}))`
}
