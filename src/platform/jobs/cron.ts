import cronParser from 'cron-parser'

/** Five fields (minute hour day month weekday), the form pg-boss schedules take. */
export function isCron(text: string): boolean {
  if (text.trim().split(/\s+/).length !== 5) return false
  try {
    cronParser.parseExpression(text, { tz: 'UTC' })
    return true
  } catch {
    return false
  }
}

/**
 * The longest gap between two runs of a schedule over the coming `sample` runs: what "overdue" means
 * for a job expected on that schedule (a weekday-only cron has a longer gap over the weekend).
 */
export function longestInterval(cron: string, from = new Date(), sample = 16): number {
  const runs = cronParser.parseExpression(cron, { tz: 'UTC', currentDate: from })
  let previous = runs.next().getTime()
  let longest = 0
  for (let i = 0; i < sample; i++) {
    const next = runs.next().getTime()
    longest = Math.max(longest, next - previous)
    previous = next
  }
  return longest
}
