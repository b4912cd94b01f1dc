import { type EntryId, entryPosition, type VoteMessage } from "@voting/domain"
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

/**
 * Finishing an entry takes it off the queue: acknowledged and deleted together.
 * `allow-oom`: a full Redis (maxmemory, noeviction) refuses every command
 * inside MULTI and every script not so flagged, and then the worker could
 * never drain the queue that fills it. XACK and XDEL free memory; the dead
 * letter's XADD takes a little (one capped entry), which draining must be
 * allowed.
 */
const acknowledgeScript = `#!lua flags=allow-oom
redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, 2))
return redis.call('XDEL', KEYS[1], unpack(ARGV, 2))`

/**
 * Up to COUNT new entries for a consumer, read without blocking and returned
 * as one JSON text ([[id, [field, value, ...]], ...]), or nil when there are
 * none. ioredis turns a plain reply of a thousand entries into seven thousand
 * Buffers and then strings: about 3.5 µs of the worker's CPU an entry,
 * measured, against about 0.5 µs for one string and JSON.parse, for about
 * 1 µs more of Redis's. `allow-oom`: a full Redis must still let the worker
 * take what it drains.
 */
const readScript = `#!lua flags=allow-oom
local reply = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', ARGV[3], 'STREAMS', KEYS[1], '>')
if not reply then return false end
return cjson.encode(reply[1][2])`

const deadLetterScript = `#!lua flags=allow-oom
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'entry', ARGV[3], 'reason', ARGV[4], 'payload', ARGV[5])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
return redis.call('XDEL', KEYS[1], ARGV[3])`

type FinishingClient = Redis & {
  readEntries: (stream: string, group: string, consumer: string, count: string) => Promise<string | null>
  acknowledgeEntries: (stream: string, group: string, ...ids: Array<string>) => Promise<number>
  deadLetterEntry: (
    stream: string,
    dead: string,
    group: string,
    maxLength: string,
    id: string,
    reason: string,
    payload: string
  ) => Promise<number>
}

/** A number field of an INFO reply (`name:value` lines); 0 when absent. */
const infoField = (info: string, name: string): number => {
  const match = new RegExp(`^${name}:(\\d+)\\r?$`, "m").exec(info)
  return match?.[1] === undefined ? 0 : Number(match[1])
}

/** The port's error keeps what ioredis failed with; the operation is the command that failed. */
const unavailable = (error: RedisError) => new QueueUnavailable({ operation: error.operation, cause: error.cause })

/**
 * The queue on a Redis stream with one consumer group (VoteQueue.layerRedis).
 * Acknowledged entries are deleted (XACK and XDEL in one script), so the
 * stream holds only work not yet done and its length is the backlog.
 */
export const makeRedisVoteQueue = Effect.gen(function* () {
  const redis = yield* RedisConnection
  const client = redis.client
  const streamKey = `${redis.prefix}votes`
  const deadKey = `${redis.prefix}votes:dead`
  // A blocking XREADGROUP holds its connection; keep it off the one that serves acks and pings.
  const blocking = yield* redis.duplicate

  if (!("acknowledgeEntries" in client)) {
    client.defineCommand("readEntries", { numberOfKeys: 1, lua: readScript })
    client.defineCommand("acknowledgeEntries", { numberOfKeys: 1, lua: acknowledgeScript })
    client.defineCommand("deadLetterEntry", { numberOfKeys: 2, lua: deadLetterScript })
  }
  const finishing = client as FinishingClient

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
    // What is there now, in one JSON text; only when nothing is, a blocking read that wakes on the next entry.
    receive: ({ consumer, count, block }) =>
      withGroup(
        call("XREADGROUP", () => finishing.readEntries(streamKey, consumerGroup, consumer, String(count)))
      ).pipe(
        Effect.flatMap((json) =>
          json === null
            ? withGroup(
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
              ).pipe(Effect.map((reply) => (reply?.[0]?.[1] ?? []).map(toDelivery)))
            : Effect.succeed((JSON.parse(json) as Array<StreamEntry>).map(toDelivery))
        )
      ),
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
        : call("XACK", () => finishing.acknowledgeEntries(streamKey, consumerGroup, ...ids)).pipe(
            Effect.asVoid,
            Effect.mapError(unavailable)
          ),
    deadLetter: (delivery, reason) =>
      call("dead-letter", () =>
        finishing.deadLetterEntry(
          streamKey,
          deadKey,
          consumerGroup,
          String(deadLetterMaxLength),
          delivery.id,
          reason,
          deadLetterPayload(delivery)
        )
      ).pipe(Effect.asVoid, Effect.mapError(unavailable)),
    depth: withGroup(
      // A pipeline, not MULTI: a full Redis refuses even reads queued in a transaction. The oldest
      // entry's age is measured by Redis's own clock (TIME), the one its ids come from.
      call("depth", (c) =>
        c
          .pipeline()
          .xlen(streamKey)
          .xpending(streamKey, consumerGroup)
          .xlen(deadKey)
          .xrange(streamKey, "-", "+", "COUNT", 1)
          .time()
          .exec()
      ).pipe(
        Effect.flatMap((replies) => {
          const failed = replies?.find(([error]) => error !== null)?.[0]
          if (!replies || failed) return Effect.fail(toRedisError("depth")(failed ?? new Error("transaction aborted")))
          const [[, entries], [, pending], [, dead], [, oldest], [, time]] = replies as [
            [null, number],
            [null, [number]],
            [null, number],
            [null, Array<StreamEntry>],
            [null, [seconds: string, micros: string]]
          ]
          const first = oldest[0]
          const now = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000)
          const oldestAgeMs = first === undefined ? 0 : Math.max(0, now - entryPosition(first[0] as EntryId).ms)
          return Effect.succeed({ entries, pending: pending[0], deadLetters: dead, oldestAgeMs })
        })
      )
    ),
    memory: call("INFO memory", (c) => c.info("memory")).pipe(
      Effect.map((info) => ({ used: infoField(info, "used_memory"), limit: infoField(info, "maxmemory") })),
      Effect.mapError(unavailable)
    ),
    ping: redis.ping.pipe(Effect.mapError(unavailable))
  }
  return queue
})
