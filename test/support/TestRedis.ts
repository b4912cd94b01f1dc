import { randomBytes } from "node:crypto"
import { RedisConnection } from "@voting/platform"
import { Effect, Layer, Redacted } from "effect"
import { Redis } from "ioredis"
import { redisUrl } from "./globalSetup.ts"

/** A key prefix no other test run uses. */
export const testPrefix = () => `voting-test:${process.pid}:${randomBytes(4).toString("hex")}:`

/** Deletes every key under a prefix. */
export const deleteKeys = (prefix: string) =>
  Effect.promise(async () => {
    const client = new Redis(redisUrl)
    try {
      const keys = await client.keys(`${prefix}*`)
      if (keys.length > 0) await client.del(...keys)
    } finally {
      client.disconnect()
    }
  })

/** A RedisConnection under a fresh prefix whose keys are deleted when the scope closes. */
export const TestRedisConnection = Layer.unwrap(
  Effect.gen(function* () {
    const prefix = testPrefix()
    yield* Effect.addFinalizer(() => deleteKeys(prefix))
    return RedisConnection.layer({ url: Redacted.make(redisUrl), prefix, connectionName: "test" })
  })
)
