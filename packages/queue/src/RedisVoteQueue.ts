import type { EntryId, VoteMessage } from "@voting/domain"
import { RedisConnection, type RedisError, toRedisError } from "@voting/platform"
import { Duration, Effect } from "effect"
import type { Redis } from "ioredis"
import { deadLetterPayload } from "./DeadLetter.ts"
import { QueueUnavailable } from "./QueueUnavailable.ts"
import { makeStreamAppender } from "./StreamAppender.ts"
import type { Delivery, VoteQueue } from "./VoteQueue.ts"

export const consumerGroup = "workers"
const deadLetterMaxLength = 10_000

type StreamEntry = [id: string, fields: Array<string>]

const toDelivery = ([id, fields]: StreamEntry): Delivery => {
  const record: Record<string, string> = {}
  for (let i = 0; i + 1 < fields.length; i += 2) record[fields[i] as string] = fields[i + 1] as string
  return { id: id as EntryId, fields: record }
}

/** The port's error keeps what ioredis failed with; the operation is the command that failed. */
const unavailable = (error: RedisError) => new QueueUnavailable({ operation: error.operation, cause: error.cause })

/**
 * The queue on a Redis stream with one consumer group (VoteQueue.layerRedis).
 * Acknowledged entries are deleted (XACK and XDEL in one transaction), so the
 * stream holds only work not yet done and its length is the backlog.
 */
export const makeRedisVoteQueue = Effect.gen(function* () {
  const redis = yield* RedisConnection
  const client = redis.client
  const streamKey = `${redis.prefix}votes`
  const deadKey = `${redis.prefix}votes:dead`
  // A blocking XREADGROUP holds its connection; keep it off the one that serves acks and pings.
  const blocking = yield* redis.duplicate

  const call = <A>(operation: string, f: (client: Redis) => Promise<A>, on: Redis = client) =>
    Effect.tryPromise({ try: () => f(on), catch: toRedisError(operation) })

  // Starting at 0 means votes queued before the first worker ever ran are still delivered.
  const ensureGroup = call("XGROUP CREATE", (c) => c.xgroup("CREATE", streamKey, consumerGroup, "0", "MKSTREAM")).pipe(
    Effect.catchIf(
      (error) => error.code === "BUSYGROUP",
      () => Effect.void
    ),
    Effect.asVoid
  )
  // A Redis that lost its data (restarted without persistence) lost the group too: recreate it and go on.
  const withGroup = <A>(effect: Effect.Effect<A, RedisError>) =>
    effect.pipe(
      Effect.catchIf(
        (error) => error.code === "NOGROUP",
        () => Effect.andThen(ensureGroup, effect)
      ),
      Effect.mapError(unavailable)
    )

  yield* ensureGroup.pipe(Effect.ignore)

  const append = makeStreamAppender(client, streamKey)
  const enqueue = (message: VoteMessage) => Effect.mapError(append(message), unavailable)

  const queue: VoteQueue["Service"] = {
    enqueue,
    receive: ({ consumer, count, block }) =>
      withGroup(
        call(
          "XREADGROUP",
          (c) =>
            c.xreadgroup(
              "GROUP",
              consumerGroup,
              consumer,
              "COUNT",
              count,
              "BLOCK",
              Duration.toMillis(block),
              "STREAMS",
              streamKey,
              ">"
            ) as Promise<Array<[string, Array<StreamEntry>]> | null>,
          blocking
        )
      ).pipe(Effect.map((reply) => (reply?.[0]?.[1] ?? []).map(toDelivery))),
    reclaim: ({ consumer, count, minIdle }) =>
      withGroup(
        call(
          "XAUTOCLAIM",
          (c) =>
            c.xautoclaim(
              streamKey,
              consumerGroup,
              consumer,
              Duration.toMillis(minIdle),
              "0-0",
              "COUNT",
              count
            ) as Promise<[string, Array<StreamEntry>, Array<string>]>
        )
      ).pipe(Effect.map(([, entries]) => entries.map(toDelivery))),
    acknowledge: (ids) =>
      ids.length === 0
        ? Effect.void
        : call("XACK", (c) =>
            c
              .multi()
              .xack(streamKey, consumerGroup, ...ids)
              .xdel(streamKey, ...ids)
              .exec()
          ).pipe(Effect.asVoid, Effect.mapError(unavailable)),
    deadLetter: (delivery, reason) =>
      call("dead-letter", (c) =>
        c
          .multi()
          .xadd(
            deadKey,
            "MAXLEN",
            "~",
            deadLetterMaxLength,
            "*",
            "entry",
            delivery.id,
            "reason",
            reason,
            "payload",
            deadLetterPayload(delivery)
          )
          .xack(streamKey, consumerGroup, delivery.id)
          .xdel(streamKey, delivery.id)
          .exec()
      ).pipe(Effect.asVoid, Effect.mapError(unavailable)),
    depth: withGroup(
      call("depth", (c) => c.multi().xlen(streamKey).xpending(streamKey, consumerGroup).xlen(deadKey).exec()).pipe(
        Effect.flatMap((replies) => {
          const failed = replies?.find(([error]) => error !== null)?.[0]
          if (!replies || failed) return Effect.fail(toRedisError("depth")(failed ?? new Error("transaction aborted")))
          const [[, entries], [, pending], [, dead]] = replies as [[null, number], [null, [number]], [null, number]]
          return Effect.succeed({ entries, pending: pending[0], deadLetters: dead })
        })
      )
    ),
    ping: redis.ping.pipe(Effect.mapError(unavailable))
  }
  return queue
})
