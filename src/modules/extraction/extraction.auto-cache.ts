import { BusCache, broadcastInvalidation } from '../../platform/events/bus-cache.js'
import type { EventBus } from '../../platform/events/event-bus.js'

const CHANNEL = 'extraction.auto'
const MAX_ENTRIES = 10_000
/** How stale an answer may be should an invalidation be lost on the way to this process. */
const TTL_MS = 60_000

/** The GPT's characters (not deleted) with automatic extraction: id → `every_turns`. */
export type AutoCharacters = ReadonlyMap<string, number>

/**
 * Which characters of a GPT extract automatically, so that the check after every message write costs
 * no database read in the many GPTs where none does. A character's change drops the GPT's entry here
 * at once and in every other process through the event bus; while the bus is not live, every check
 * reads the database.
 */
export class AutoExtractionCache {
  private readonly entries: BusCache<AutoCharacters>
  /** Loads under way: the checks of a burst of messages share one read. */
  private readonly loading = new Map<string, Promise<AutoCharacters>>()
  /** Counts invalidations: a load that one overtook is not kept (it may predate the change). */
  private epoch = 0

  constructor(
    private readonly load: (gptId: string) => Promise<AutoCharacters>,
    private readonly bus: EventBus | null,
    private readonly log: { warn(object: object, message: string): void },
  ) {
    this.entries = new BusCache({ bus, ttlMs: TTL_MS, maxEntries: MAX_ENTRIES })
    bus?.subscribe(CHANNEL, (message) => {
      if (typeof message.gpt_id === 'string') this.drop(message.gpt_id)
    })
  }

  async characters(gptId: string): Promise<AutoCharacters> {
    // A load begun while the bus was down may miss a change announced meanwhile: it is not kept.
    const live = this.entries.live
    const cached = this.entries.get(gptId)
    if (cached) return cached
    const pending = this.loading.get(gptId)
    if (pending) return pending
    const epoch = this.epoch
    const loading = this.load(gptId)
      .then((characters) => {
        if (live && epoch === this.epoch) this.entries.set(gptId, characters)
        return characters
      })
      .finally(() => {
        if (this.loading.get(gptId) === loading) this.loading.delete(gptId)
      })
    this.loading.set(gptId, loading)
    return loading
  }

  /** A character of the GPT was created, changed or deleted: forgotten here and in every other process. */
  async forget(gptId: string): Promise<void> {
    this.drop(gptId)
    await broadcastInvalidation(this.bus, CHANNEL, { gpt_id: gptId }, this.log, 'an automatic extraction')
  }

  private drop(gptId: string): void {
    this.epoch++
    this.entries.delete(gptId)
    this.loading.delete(gptId)
  }
}
