// Parsers of the setting values that are lists or have a form of their own; each problem names its setting.
import { COMPAT_SURFACES, type CompatSurface, type SettingName } from './config.settings.js'
import { isCron } from './platform/jobs/cron.js'

export function cronOrOff(text: string, problems: string[]): string | null {
  if (text.toLowerCase() === 'off') return null
  if (!isCron(text)) problems.push(`BACKUP_CRON=${JSON.stringify(text)}: expected a cron expression of 5 fields (minute hour day month weekday) or off`)
  return text
}

/** Comma-separated, blanks ignored. */
function commaList(text: string): string[] {
  return text.split(',').map((item) => item.trim()).filter((item) => item !== '')
}

/**
 * `https://a.example, http://localhost:3000`: each an origin (scheme, host and port), nothing more.
 * `*` alone (any origin) only where `anyAllowed`, which only CORS is: /mcp names its origins.
 */
export function originList(name: SettingName, text: string, problems: string[]): string[]
export function originList(name: SettingName, text: string, problems: string[], anyAllowed: true): string[] | '*'
export function originList(name: SettingName, text: string, problems: string[], anyAllowed = false): string[] | '*' {
  const items = commaList(text)
  if (anyAllowed && items.length === 1 && items[0] === '*') return '*'
  const origins: string[] = []
  for (const item of items) {
    let origin: string | null = null
    try {
      const parsed = new URL(item)
      if ((parsed.protocol === 'http:' || parsed.protocol === 'https:') && parsed.origin === item.replace(/\/+$/, '')) origin = parsed.origin
    } catch {
      origin = null
    }
    const hint = anyAllowed ? 'scheme, host and port only; * alone allows any' : 'scheme, host and port only'
    if (origin === null) problems.push(`${name}: ${JSON.stringify(item)} is not an origin such as https://app.example.com (${hint})`)
    else origins.push(origin)
  }
  return origins
}

export function compatList(text: string, problems: string[]): CompatSurface[] {
  if (text.toLowerCase() === 'none') return []
  const names = commaList(text).map((name) => name.toLowerCase())
  const unknown = names.filter((name) => !(COMPAT_SURFACES as readonly string[]).includes(name))
  if (unknown.length > 0) problems.push(`COMPAT=${JSON.stringify(text)}: expected a comma list of ${COMPAT_SURFACES.join(', ')}, or none`)
  return COMPAT_SURFACES.filter((surface) => names.includes(surface))
}

export function parseBytes(text: string): number | null {
  const match = /^(\d+)\s*(b|kb|k|mb|m|gb|g)?$/i.exec(text)
  if (!match) return null
  const unit = (match[2] ?? 'b').toLowerCase()
  const factor = unit.startsWith('g') ? 1024 ** 3 : unit.startsWith('m') ? 1024 * 1024 : unit.startsWith('k') ? 1024 : 1
  return Number(match[1]) * factor
}
