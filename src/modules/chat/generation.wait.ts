import type { GenerationHub } from './generation.hub.js'
import type { MessageView } from './messages.schemas.js'

/** How often a wait reads the message again even when no process announced a change (a lost event, a dead process). */
const REREAD_MS = 1000

export const isUnfinished = (message: MessageView | null) => message !== null && (message.status === 'pending' || message.status === 'in_progress')

/**
 * Waits until the message is no longer pending or in progress (on whichever process generates it),
 * woken by its followers' events; resolves to it as it then is (null: deleted), or, when `timeoutMs`
 * passes first, to it as it still is.
 */
export async function untilSettled(
  hub: GenerationHub,
  read: () => Promise<MessageView | null>,
  messageId: string,
  timeoutMs: number | null,
): Promise<MessageView | null> {
  const deadline = timeoutMs === null ? null : Date.now() + timeoutMs
  let wake = () => {}
  const unfollow = hub.follow(messageId, () => wake())
  try {
    for (;;) {
      const message = await read()
      const left = deadline === null ? REREAD_MS : deadline - Date.now()
      if (!isUnfinished(message) || left <= 0) return message
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(REREAD_MS, left))
        wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
    }
  } finally {
    unfollow()
  }
}

/**
 * Awaits reads that run together; when some fail, the error is the first one's in argument order (as
 * if they had run one after another), not whichever failed first.
 */
export async function inOrder<T extends unknown[]>(...reads: { [K in keyof T]: Promise<T[K]> | T[K] }): Promise<T> {
  const settled = await Promise.allSettled(reads)
  for (const result of settled) if (result.status === 'rejected') throw result.reason
  return settled.map((result) => (result as PromiseFulfilledResult<unknown>).value) as T
}
