/**
 * The `offline` extractor: deterministic rules over the user's own messages, for running with no LLM
 * configured. It catches first-person statements of a few fixed shapes (docs/memory.md lists them)
 * and nothing else: no third persons, no facts spread over two sentences, no irony, no questions.
 */

export interface ExtractedFact {
  /** What the fact is about: two facts with the same key say the same thing or contradict each other. */
  key: string
  /** The value the key holds (compared to decide between none, update and supersede). */
  value: string
  /** The memory text, in the third person. */
  content: string
  message_id: string
}

interface Rule {
  pattern: RegExp
  fact(value: string, verb: string): { key: string; content: string } | null
}

const MAX_VALUE_CHARS = 120
const MAX_VALUE_WORDS = 14

// A clause's subject must be the first word (after an optional "and", "but", "so", "well", "oh", "also").
const LEAD = String.raw`^(?:(?:and|but|so|well|oh|also|actually|btw),?\s+)*`

const RULES: Rule[] = [
  { pattern: new RegExp(`${LEAD}(?:my name is|my name's|call me)\\s+(.+)$`, 'i'), fact: (value) => ({ key: 'name', content: `The user's name is ${value}.` }) },
  { pattern: new RegExp(`${LEAD}i(?: live| am living|'m living) in\\s+(.+)$`, 'i'), fact: (value) => ({ key: 'home', content: `The user lives in ${value}.` }) },
  { pattern: new RegExp(`${LEAD}i(?: work| am working|'m working) (?:at|for)\\s+(.+)$`, 'i'), fact: (value) => ({ key: 'employer', content: `The user works at ${value}.` }) },
  { pattern: new RegExp(`${LEAD}i(?: work| am working|'m working) as\\s+(.+)$`, 'i'), fact: (value) => ({ key: 'occupation', content: `The user works as ${value}.` }) },
  {
    pattern: new RegExp(`${LEAD}i (?:do not|don't|dont) (?:like|enjoy)\\s+(.+)$`, 'i'),
    fact: (value) => ({ key: `preference:${normal(value)}`, content: `The user dislikes ${value}.` }),
  },
  {
    pattern: new RegExp(`${LEAD}i (?:really |absolutely |also )?(like|love|enjoy|prefer|hate|dislike|adore|can't stand)\\s+(.+)$`, 'i'),
    fact: (value, verb) => {
      const lowered = verb.toLowerCase()
      const word = lowered === 'prefer' ? 'prefers' : ['hate', 'dislike', "can't stand"].includes(lowered) ? 'dislikes' : lowered === 'love' || lowered === 'adore' ? 'loves' : 'likes'
      // "I like to think …" states no preference.
      if (/^to (think|say|believe|imagine)\b/i.test(value)) return null
      return { key: `preference:${normal(value)}`, content: `The user ${word} ${value}.` }
    },
  },
  {
    pattern: new RegExp(`${LEAD}i(?: plan to| am planning to|'m planning to| am going to|'m going to| will|'ll| intend to)\\s+(.+)$`, 'i'),
    fact: (value) => ({ key: `plan:${normal(value)}`, content: `The user plans to ${value}.` }),
  },
  {
    // Identity: "I am a nurse", "I'm an engineer", "I'm vegetarian" (not "I'm going/tired/sure …").
    pattern: new RegExp(`${LEAD}i(?: am|'m)\\s+(a|an)\\s+(.+)$`, 'i'),
    fact: (value, article) => ({ key: `is:${normal(value)}`, content: `The user is ${article.toLowerCase()} ${value}.` }),
  },
]

/** The facts of the user messages, in message order; one fact per key (the last statement wins). */
export function extractOffline(messages: readonly { id: string; sender: string; content: string }[]): ExtractedFact[] {
  const facts = new Map<string, ExtractedFact>()
  for (const message of messages) {
    if (message.sender !== 'user') continue
    for (const clause of clauses(message.content)) {
      const fact = matchClause(clause)
      if (!fact) continue
      facts.delete(fact.key)
      facts.set(fact.key, { ...fact, message_id: message.id })
    }
  }
  return [...facts.values()]
}

function matchClause(clause: string): Omit<ExtractedFact, 'message_id'> | null {
  const text = clause.replace(/[’‘]/g, "'")
  for (const rule of RULES) {
    const match = rule.pattern.exec(text)
    if (!match) continue
    const captured = match.slice(1)
    const value = cleanValue(captured.at(-1)!)
    if (value === null) return null
    const found = rule.fact(value, captured.length > 1 ? captured[0]! : '')
    return found ? { ...found, value } : null
  }
  return null
}

/** Sentences and clauses: a fact never spans one of these boundaries. Questions are dropped. */
function clauses(text: string): string[] {
  const out: string[] = []
  for (const sentence of text.split(/(?<=[.!?])\s+|\n+/)) {
    if (sentence.trim().endsWith('?')) continue
    for (const part of sentence.split(/[;:,]\s+(?=(?:and |but |so )?(?:i|my)\b)|\s+(?:and|but)\s+(?=(?:i|my)\b)/i)) {
      const trimmed = part.trim()
      if (trimmed) out.push(trimmed)
    }
  }
  return out
}

function cleanValue(raw: string): string | null {
  const value = raw
    .replace(/[.!;:,\s]+$/, '')
    .replace(/\s+(any ?more|now|too|either|as well|a lot|very much|so much)$/i, '')
    .replace(/\s+/g, ' ')
    .trim()
  if (value.length === 0 || value.length > MAX_VALUE_CHARS || value.split(' ').length > MAX_VALUE_WORDS) return null
  // A value that is a pronoun or filler says nothing on its own ("I like it", "I will do that").
  if (/^(it|that|this|them|so|too|not|you|there)$/i.test(value)) return null
  return value
}

function normal(value: string): string {
  return value.toLowerCase().replace(/^(the|a|an|my)\s+/, '').replace(/[^\p{L}\p{N} ]+/gu, '').trim()
}
