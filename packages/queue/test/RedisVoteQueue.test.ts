import { assert, describe, it } from "@effect/vitest"
import { RedisConnection } from "@voting/platform"
import { TestRedisConnection } from "@voting/test-support/TestRedis"
import { Duration, Effect, Layer } from "effect"
import { maxVotesPerCall } from "../src/StreamAppender.ts"
import { VoteQueue } from "../src/VoteQueue.ts"
import { voteQueueContract } from "./VoteQueueContract.ts"

const layer = () => VoteQueue.layerRedis.pipe(Layer.provideMerge(TestRedisConnection))

voteQueueContract("RedisVoteQueue", layer)

describe("RedisVoteQueue on a real Redis", () => {
  it.live("reports the memory Redis uses and its maxmemory, as INFO and CONFIG say", () =>
    Effect.gen(function* () {
      const queue = yield* VoteQueue
      const redis = yield* RedisConnection
      const memory = yield* queue.memory
      const [, maxmemory] = yield* Effect.promise(
        () => redis.client.config("GET", "maxmemory") as Promise<[string, string]>
      )
      assert.isAbove(memory.used, 0)
      assert.strictEqual(memory.limit, Number(maxmemory))
    }).pipe(Effect.provide(layer()), Effect.scoped)
  )

  it.live("recreates its consumer group when Redis lost it, and delivers what was queued after", () =>
    Effect.gen(function* () {
      const queue = yield* VoteQueue
      const redis = yield* RedisConnection
      yield* Effect.promise(() => redis.client.del(`${redis.prefix}votes`))
      const id = yield* queue.enqueue({ voter: "v".repeat(22), option: "a", at: "2026-11-22T10:00:00.000Z" })
      const delivered = yield* queue.receive({ consumer: "c1", count: 10, block: Duration.millis(10) })
      assert.deepStrictEqual(
        delivered.map((d) => d.id),
        [id]
      )
    }).pipe(Effect.provide(layer()), Effect.scoped)
  )

  it.live("records the entry id, the reason and the payload of a dead letter", () =>
    Effect.gen(function* () {
      const queue = yield* VoteQueue
      const redis = yield* RedisConnection
      const id = yield* queue.enqueue({ voter: "short", option: "a", at: "yesterday" })
      const [delivery] = yield* queue.receive({ consumer: "c1", count: 1, block: Duration.millis(10) })
      yield* queue.deadLetter(delivery!, "voter is not a valid voter id")
      const dead = yield* Effect.promise(() => redis.client.xrange(`${redis.prefix}votes:dead`, "-", "+"))
      assert.strictEqual(dead.length, 1)
      assert.deepStrictEqual(dead[0]?.[1], [
        "entry",
        id,
        "reason",
        "voter is not a valid voter id",
        "payload",
        JSON.stringify({ voter: "short", option: "a", at: "yesterday" })
      ])
    }).pipe(Effect.provide(layer()), Effect.scoped)
  )

  it.live(
    "gives each of many concurrent votes its own entry and id, in arrival order, across more votes than one call takes",
    () =>
      Effect.gen(function* () {
        const queue = yield* VoteQueue
        const redis = yield* RedisConnection
        const count = maxVotesPerCall * 2 + 7
        const messages = Array.from({ length: count }, (_, i) => ({
          voter: `voter-${String(i).padStart(4, "0")}`,
          option: i % 2 === 0 ? "a" : "b",
          at: new Date(Date.UTC(2026, 10, 22, 10, 0, 0, i)).toISOString()
        }))
        const ids = yield* Effect.forEach(messages, queue.enqueue, { concurrency: "unbounded" })
        assert.strictEqual(new Set(ids).size, count)
        const entries = yield* Effect.promise(() => redis.client.xrange(`${redis.prefix}votes`, "-", "+"))
        // Each caller got the id of its own entry, and the entries are in the order the votes arrived.
        assert.deepStrictEqual(
          entries.map(([id]) => id),
          ids
        )
        assert.deepStrictEqual(
          entries.map(([, fields]) => fields),
          messages.map((m) => ["voter", m.voter, "option", m.option, "at", m.at])
        )
      }).pipe(Effect.provide(layer()), Effect.scoped)
  )
})
