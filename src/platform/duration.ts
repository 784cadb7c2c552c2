const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }

export const DURATION_PATTERN = '^[1-9][0-9]{0,5}[smhdw]$'

/** `30d`, `12h`, `90m`, `2w` → milliseconds; null when the text is not such a duration. */
export function parseDuration(text: string): number | null {
  const match = /^([1-9]\d{0,5})([smhdw])$/.exec(text.trim())
  return match ? Number(match[1]) * UNIT_MS[match[2]!]! : null
}
