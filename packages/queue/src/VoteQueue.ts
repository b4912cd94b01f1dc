import type { EntryId, VoteMessage } from "@voting/domain"
import { Context, type Duration, type Effect, Layer } from "effect"
import { makeMemoryVoteQueue } from "./MemoryVoteQueue.ts"
import type { QueueUnavailable } from "./QueueUnavailable.ts"
import { makeRedisVoteQueue } from "./RedisVoteQueue.ts"

/** One entry handed to a consumer: its id and its raw fields, not yet trusted. */
export interface Delivery {
  readonly id: EntryId
  readonly fields: Readonly<Record<string, string>>
}

export interface QueueDepth {
  /** Entries on the queue: not yet delivered, or delivered and not yet acknowledged. */
  readonly entries: number
  /** Delivered to a consumer and not yet acknowledged. */
  readonly pending: number
  readonly deadLetters: number
  /**
   * How long the oldest entry on the queue has waited, in milliseconds, by the
   * queue's own clock (0 when the queue is empty). Finished entries leave the
   * queue, so this is the oldest vote not yet recorded, delivered or not.
   */
  readonly oldestAgeMs: number
}

/** The memory the queue's server uses, against its bound (`limit` 0: no bound). */
export interface QueueMemory {
  readonly used: number
  readonly limit: number
}

/**
 * The vote queue: at-least-once delivery to a group of consumers. An entry
 * stays on the queue until a consumer acknowledges it (after its vote is
 * committed) or dead-letters it; entries a consumer took and never finished
 * are reclaimed by another once they have been idle long enough.
 */
export class VoteQueue extends Context.Service<
  VoteQueue,
  {
    readonly enqueue: (message: VoteMessage) => Effect.Effect<EntryId, QueueUnavailable>
    /** Entries no consumer has seen yet; waits up to `block` when there are none. */
    readonly receive: (options: {
      readonly consumer: string
      readonly count: number
      readonly block: Duration.Duration
    }) => Effect.Effect<ReadonlyArray<Delivery>, QueueUnavailable>
    /** Entries another consumer took and left idle for at least `minIdle`: now this consumer's. */
    readonly reclaim: (options: {
      readonly consumer: string
      readonly count: number
      readonly minIdle: Duration.Duration
    }) => Effect.Effect<ReadonlyArray<Delivery>, QueueUnavailable>
    /** Removes finished entries from the queue. */
    readonly acknowledge: (ids: ReadonlyArray<EntryId>) => Effect.Effect<void, QueueUnavailable>
    /** Moves an entry that can never be processed aside, with the reason, and removes it. */
    readonly deadLetter: (delivery: Delivery, reason: string) => Effect.Effect<void, QueueUnavailable>
    readonly depth: Effect.Effect<QueueDepth, QueueUnavailable>
    /** Past `limit` the queue refuses new entries (a vote is then answered 503). */
    readonly memory: Effect.Effect<QueueMemory, QueueUnavailable>
    readonly ping: Effect.Effect<void, QueueUnavailable>
  }
>()("@voting/queue/VoteQueue") {
  /**
   * The queue inside the process, for unit tests and for `npm start` without
   * Redis: each build is a new, empty queue that lives as long as its scope.
   */
  static readonly layerMemory = Layer.effect(VoteQueue, makeMemoryVoteQueue)

  /** The queue on a Redis stream with one consumer group, over the RedisConnection it is given. */
  static readonly layerRedis = Layer.effect(VoteQueue, makeRedisVoteQueue)
}
