// Parsers of the setting values that are lists or have a form of their own; each problem names its setting.
import { COMPAT_SURFACES, SETTINGS, type CompatSurface, type SettingName } from './config.settings.js'
import { parseDuration } from './platform/duration.js'
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

export type Env = Record<string, string | undefined>

/**
 * Readers of single settings from `env` (blank or unset: the default in SETTINGS). A bad value adds a
 * problem naming its variable and what is allowed, and reads as a harmless stand-in so that every
 * problem is reported at once.
 */
export function settingReader(env: Env, problems: string[]) {
  const raw = (name: SettingName): string => {
    const value = env[name]
    return value === undefined || value.trim() === '' ? SETTINGS[name].default : value.trim()
  }
  const int = (name: SettingName, min: number, max: number): number => {
    const text = raw(name)
    const value = Number(text)
    if (!/^-?\d+$/.test(text) || value < min || value > max) {
      problems.push(`${name}=${JSON.stringify(text)}: expected a whole number from ${min} to ${max}`)
      return min
    }
    return value
  }
  const fraction = (name: SettingName): number => {
    const text = raw(name)
    const value = Number(text)
    if (!/^\d*\.?\d+$/.test(text) || value <= 0 || value > 1) {
      problems.push(`${name}=${JSON.stringify(text)}: expected a number above 0 and at most 1`)
      return 1
    }
    return value
  }
  const bool = (name: SettingName): boolean => {
    const text = raw(name).toLowerCase()
    if (['true', '1', 'yes', 'on'].includes(text)) return true
    if (['false', '0', 'no', 'off'].includes(text)) return false
    problems.push(`${name}=${JSON.stringify(text)}: expected true or false`)
    return false
  }
  const url = (name: SettingName, protocols: string[]): string | null => {
    const text = raw(name)
    if (text === '') return null
    try {
      const parsed = new URL(text)
      if (!protocols.includes(parsed.protocol)) throw new Error('protocol')
      return text
    } catch {
      problems.push(`${name}: expected a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`)
      return null
    }
  }
  const oneOf = <T extends string>(name: SettingName, allowed: readonly T[]): T | null => {
    const text = raw(name).toLowerCase()
    if (text === '') return null
    if ((allowed as readonly string[]).includes(text)) return text as T
    problems.push(`${name}=${JSON.stringify(text)}: expected ${allowed.join(', ')} or unset`)
    return null
  }
  const bytes = (name: SettingName, max: [number, string] = [100 * 1024 * 1024, '100mb']): number => {
    const value = parseBytes(raw(name))
    if (value === null || value < 1024 || value > max[0]) {
      problems.push(`${name}=${JSON.stringify(raw(name))}: expected a size from 1kb to ${max[1]} (bytes, or with a kb/mb/gb suffix)`)
      return 0
    }
    return value
  }
  const seconds = (name: SettingName, maxMs: number): number => {
    const ms = parseDuration(raw(name))
    if (ms === null || ms < 60_000 || ms > maxMs) {
      problems.push(`${name}=${JSON.stringify(raw(name))}: expected a duration such as 15m, 12h or 30d, from 1m to ${maxMs / 86_400_000}d`)
      return 60
    }
    return ms / 1000
  }
  return { raw, int, fraction, bool, url, oneOf, bytes, seconds }
}
