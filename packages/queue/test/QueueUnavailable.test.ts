import { assert, describe, it } from "@effect/vitest"
import { toRedisError } from "@voting/platform"
import { ReplyError } from "ioredis"
import { QueueUnavailable } from "../src/QueueUnavailable.ts"

describe("QueueUnavailable", () => {
  it("keeps what the driver failed with and says it in the driver's words", () => {
    const refused = new Error("connect ECONNREFUSED 127.0.0.1:6379")
    const error = new QueueUnavailable({ operation: "XADD", cause: refused })
    assert.strictEqual(error.cause, refused)
    assert.strictEqual(error.message, "queue unavailable during XADD: connect ECONNREFUSED 127.0.0.1:6379")
  })

  it("the Redis error under it knows the reply's error code, and only a reply's", () => {
    const noGroup = toRedisError("XREADGROUP")(new ReplyError("NOGROUP No such key 'votes' or consumer group"))
    assert.strictEqual(noGroup.code, "NOGROUP")
    assert.isTrue(noGroup.retryable)
    assert.strictEqual(toRedisError("XADD")(new Error("NOGROUP written by someone else")).code, undefined)
  })
})
