import { type EntryId, entryPosition, type VoteMessage } from "@voting/domain"
import { Clock, Duration, Effect, Latch } from "effect"
import { deadLetterPayload } from "./DeadLetter.ts"
import type { Delivery, VoteQueue } from "./VoteQueue.ts"

interface Pending {
  readonly consumer: string
  readonly deliveredAt: number
}

/**
 * The queue inside the process (VoteQueue.layerMemory): the same semantics as
 * the Redis stream (ids that only grow, a pending list, reclaim after
 * idleness, dead letters), for unit tests and for `npm start` without Redis.
 * It lives as long as the process does.
 */
export const makeMemoryVoteQueue: Effect.Effect<VoteQueue["Service"]> = Effect.gen(function* () {
  const entries = new Map<EntryId, Delivery>()
  const undelivered: Array<EntryId> = []
  const pending = new Map<EntryId, Pending>()
  const deadLetters: Array<{ readonly entry: EntryId; readonly reason: string; readonly payload: string }> = []
  let lastMs = 0
  let lastSeq = 0
  // Opened on every enqueue, so a consumer waiting in `receive` wakes at once.
  const arrived = yield* Latch.make(false)

  const nextId = (now: number): EntryId => {
    if (now > lastMs) {
      lastMs = now
      lastSeq = 0
    } else {
      lastSeq += 1
    }
    return `${lastMs}-${lastSeq}` as EntryId
  }

  const take = (consumer: string, count: number, now: number): ReadonlyArray<Delivery> => {
    const ids = undelivered.splice(0, count)
    for (const id of ids) pending.set(id, { consumer, deliveredAt: now })
    return ids.map((id) => entries.get(id) as Delivery)
  }

  const remove = (id: EntryId) => {
    entries.delete(id)
    pending.delete(id)
  }

  const queue: VoteQueue["Service"] = {
    enqueue: (message: VoteMessage) =>
      Effect.gen(function* () {
        const id = nextId(yield* Clock.currentTimeMillis)
        const fields: Record<string, string> = { voter: message.voter, option: message.option, at: message.at }
        if (message.traceparent !== undefined) fields.traceparent = message.traceparent
        entries.set(id, { id, fields })
        undelivered.push(id)
        yield* arrived.open
        return id
      }),
    receive: ({ consumer, count, block }) =>
      Effect.gen(function* () {
        yield* arrived.close
        if (undelivered.length === 0) yield* arrived.await.pipe(Effect.timeoutOption(block))
        return take(consumer, count, yield* Clock.currentTimeMillis)
      }),
    reclaim: ({ consumer, count, minIdle }) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const idleBefore = now - Duration.toMillis(minIdle)
        const claimed: Array<Delivery> = []
        for (const [id, owner] of pending) {
          if (claimed.length >= count) break
          if (owner.deliveredAt <= idleBefore) {
            pending.set(id, { consumer, deliveredAt: now })
            claimed.push(entries.get(id) as Delivery)
          }
        }
        return claimed
      }),
    acknowledge: (ids) => Effect.sync(() => ids.forEach(remove)),
    deadLetter: (delivery, reason) =>
      Effect.sync(() => {
        deadLetters.push({
          entry: delivery.id,
          reason,
          payload: deadLetterPayload(delivery)
        })
        remove(delivery.id)
      }),
    depth: Effect.map(Clock.currentTimeMillis, (now) => {
      // A Map keeps insertion order and ids only grow: the first key is the oldest entry.
      const oldest = entries.keys().next()
      return {
        entries: entries.size,
        pending: pending.size,
        deadLetters: deadLetters.length,
        oldestAgeMs: oldest.done ? 0 : Math.max(0, now - entryPosition(oldest.value).ms)
      }
    }),
    // Bounded only by the process's heap.
    memory: Effect.succeed({ used: 0, limit: 0 }),
    ping: Effect.void
  }
  return queue
})
