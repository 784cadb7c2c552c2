import type { LightMyRequestResponse } from 'fastify'
import { expect } from 'vitest'

/**
 * Follows a list from `firstUrl` through every page by its `Link: <…>; rel="next"`, checking on the
 * way what every list promises: full pages while `has_more`, the link naming `next_cursor` (and the
 * same `limit`) under `linkPrefix`, and neither a cursor nor a link on the last page.
 */
export async function walkPages<T>(
  get: (url: string) => Promise<LightMyRequestResponse>,
  firstUrl: string,
  itemsKey: string,
  linkPrefix: string,
): Promise<{ items: T[]; pages: number }> {
  const items: T[] = []
  let url: string | null = firstUrl
  let pages = 0
  const limit = new URL(firstUrl, 'http://x').searchParams.get('limit')
  while (url !== null) {
    const response = await get(url)
    expect(response.statusCode, response.body).toBe(200)
    const page = response.json<Record<string, unknown> & { next_cursor: string | null; has_more: boolean }>()
    const pageItems = page[itemsKey] as T[]
    items.push(...pageItems)
    pages++
    if (page.has_more) {
      if (limit !== null) expect(pageItems).toHaveLength(Number(limit))
      const link = response.headers.link as string
      expect(link.startsWith(`<${linkPrefix}?`), link).toBe(true)
      expect(link).toMatch(/^<[^>]+>; rel="next"$/)
      const target = new URL(/^<([^>]+)>/.exec(link)![1]!)
      expect(target.searchParams.get('cursor')).toBe(page.next_cursor)
      expect(target.searchParams.get('limit')).toBe(limit)
      url = `${target.pathname}${target.search}`
    } else {
      expect(page.next_cursor).toBeNull()
      expect(response.headers.link).toBeUndefined()
      url = null
    }
  }
  return { items, pages }
}
