import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { ReplyError } from "ioredis"
import { isRetryable, RedisConnection, toRedisError } from "../src/RedisConnection.ts"

describe("Redis errors", () => {
  it.each([
    ["Connection is closed.", true],
    ["connect ECONNREFUSED 127.0.0.1:6379", true],
    ["Stream isn't writeable and enableOfflineQueue options is false", true],
    ["LOADING Redis is loading the dataset in memory", true],
    ["BUSY Redis is busy running a script", true],
    ["WRONGTYPE Operation against a key holding the wrong kind of value", false],
    ["ERR syntax error", false],
    ["NOPERM this user has no permissions to run the 'xadd' command", false]
  ])("%s → retryable: %s", (message, retryable) => {
    assert.strictEqual(isRetryable(new ReplyError(message)), retryable)
    const error = toRedisError("XADD")(new ReplyError(message))
    assert.strictEqual(error.retryable, retryable)
    assert.strictEqual(error.message, `redis XADD failed: ${message}`)
  })

  it.live("starts against a Redis that is not there, and says so when pinged", () =>
    Effect.gen(function* () {
      const redis = yield* RedisConnection
      const error = yield* redis.ping.pipe(Effect.flip)
      assert.strictEqual(error._tag, "RedisError")
      assert.isTrue(error.retryable)
    }).pipe(
      Effect.provide(
        RedisConnection.layer({ url: Redacted.make("redis://127.0.0.1:1"), prefix: "none:", connectionName: "test" })
      )
    )
  )
})
