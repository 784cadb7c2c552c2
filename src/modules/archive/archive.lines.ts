import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'

/** One line of an archive file: its number (from 1) and its text without the line end. */
export interface ArchiveLine {
  number: number
  text: string
}

/** The lines of a file, read as a stream. */
export async function* readLines(file: string): AsyncGenerator<ArchiveLine> {
  const input = createReadStream(file, { encoding: 'utf8' })
  const lines = createInterface({ input, crlfDelay: Infinity })
  let number = 0
  try {
    for await (const text of lines) yield { number: ++number, text }
  } finally {
    // A reader that stops early (a bad header, the trailer) releases the file at once.
    lines.close()
    input.destroy()
  }
}

/** A JSON object, or the reason the text is not one. */
export function parseObject(text: string): { value: Record<string, unknown> } | { error: string } {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return { error: 'is not valid JSON' }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { error: 'must be a JSON object' }
  return { value: value as Record<string, unknown> }
}
