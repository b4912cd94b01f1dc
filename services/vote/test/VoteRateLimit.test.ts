import { assert, describe, it } from "@effect/vitest"
import { ConfigSources, parseTrustedProxies, TrustedProxies } from "@voting/platform"
import { Clock, Effect, Layer, Option } from "effect"
import { HttpServerRequest } from "effect/http"
import { TestClock } from "effect/testing"
import { TokenBuckets, VoteRateLimit } from "../src/VoteRateLimit.ts"

/** A request from `address`, with these headers. */
const from = (address: string, headers: Record<string, string> = {}) =>
  HttpServerRequest.fromWeb(new Request("http://vote.test/api/vote", { method: "POST", headers })).modify({
    remoteAddress: Option.some(address)
  })

/** The limit, taking votes at the Clock's time (the TestClock's, in these tests). */
const limitOf = (...args: Parameters<typeof VoteRateLimit.make>) =>
  Effect.gen(function* () {
    const limit = yield* VoteRateLimit.make(...args)
    const clock = yield* Clock.Clock
    return {
      perMinute: limit.perMinute,
      take: (request: HttpServerRequest.HttpServerRequest) => limit.take(request, clock.currentTimeMillisUnsafe())
    }
  })
type Limit = Effect.Success<ReturnType<typeof limitOf>>

/** Takes `count` votes from `request`'s client and says how many were let through. */
const takeMany = (limit: Limit, request: HttpServerRequest.HttpServerRequest, count: number) => {
  let taken = 0
  for (let i = 0; i < count; i++) if (limit.take(request) === undefined) taken++
  return taken
}

describe("the vote rate limit", () => {
  it.effect("lets a minute's worth through at once, then one more each time a token is earned", () =>
    Effect.gen(function* () {
      const limit = yield* limitOf(60)
      const client = from("::ffff:203.0.113.9")
      assert.strictEqual(takeMany(limit, client, 100), 60)
      const refused = limit.take(client)
      assert.strictEqual(refused?._tag, "RateLimited")
      // 60 a minute: the next token comes a second later.
      assert.strictEqual(refused?.retryAfter, 1)
      assert.strictEqual(refused?.perMinute, 60)
      yield* TestClock.adjust("999 millis")
      assert.isDefined(limit.take(client))
      yield* TestClock.adjust("1 millis")
      assert.isUndefined(limit.take(client))
      assert.isDefined(limit.take(client))
      // Ten seconds earn ten votes, not more.
      yield* TestClock.adjust("10 seconds")
      assert.strictEqual(takeMany(limit, client, 20), 10)
      // A quiet minute fills the bucket again, and no further.
      yield* TestClock.adjust("5 minutes")
      assert.strictEqual(takeMany(limit, client, 100), 60)
    })
  )

  it.effect("says how long to wait when votes come in slowly", () =>
    Effect.gen(function* () {
      const limit = yield* limitOf(2)
      const client = from("203.0.113.9")
      assert.strictEqual(takeMany(limit, client, 2), 2)
      // 2 a minute: a token every 30 seconds.
      assert.strictEqual(limit.take(client)?.retryAfter, 30)
      yield* TestClock.adjust("20 seconds")
      assert.strictEqual(limit.take(client)?.retryAfter, 10)
      yield* TestClock.adjust("10 seconds")
      assert.isUndefined(limit.take(client))
    })
  )

  it.effect("counts each client on its own", () =>
    Effect.gen(function* () {
      const limit = yield* limitOf(5)
      assert.strictEqual(takeMany(limit, from("203.0.113.9"), 10), 5)
      assert.strictEqual(takeMany(limit, from("203.0.113.10"), 10), 5)
      // A listening socket reports an IPv4 client in one form, plain or IPv4-mapped: either is one client.
      assert.strictEqual(takeMany(limit, from("::ffff:203.0.113.50"), 10), 5)
      assert.strictEqual(takeMany(limit, from("::ffff:203.0.113.50"), 10), 0)
      // An IPv6 client by its /64: a new address in it is the same client.
      assert.strictEqual(takeMany(limit, from("2001:db8:1:2::1"), 10), 5)
      assert.strictEqual(takeMany(limit, from("2001:db8:1:2::99"), 10), 0)
      assert.strictEqual(takeMany(limit, from("2001:db8:1:3::1"), 10), 5)
    })
  )

  it.effect("believes X-Forwarded-For only from a trusted proxy", () =>
    Effect.gen(function* () {
      const trusted = parseTrustedProxies("10.244.0.0/16")
      if (!(trusted instanceof TrustedProxies)) throw new Error(trusted.problem)
      const limit = yield* limitOf(3, trusted)
      // Through the proxy: each forwarded client has its own bucket.
      assert.strictEqual(takeMany(limit, from("10.244.0.7", { "x-forwarded-for": "198.51.100.1" }), 5), 3)
      assert.strictEqual(takeMany(limit, from("10.244.0.7", { "x-forwarded-for": "198.51.100.2" }), 5), 3)
      // A client writing its own header, straight to the service: counted by its socket, whatever it claims.
      assert.strictEqual(takeMany(limit, from("192.0.2.50", { "x-forwarded-for": "198.51.100.3" }), 5), 3)
      assert.strictEqual(takeMany(limit, from("192.0.2.50", { "x-forwarded-for": "198.51.100.4" }), 5), 0)
      // ... and through the proxy, what it wrote on the left is not read.
      assert.strictEqual(takeMany(limit, from("10.244.0.7", { "x-forwarded-for": "198.51.100.5, 198.51.100.1" }), 5), 0)
    })
  )

  it.effect("is off at 0", () =>
    Effect.gen(function* () {
      const limit = yield* limitOf(0)
      assert.strictEqual(limit.perMinute, 0)
      assert.strictEqual(takeMany(limit, from("203.0.113.9"), 10_000), 10_000)
    })
  )
})

describe("VOTE_RATE_LIMIT", () => {
  const limitFrom = (env: Record<string, string>) =>
    Effect.gen(function* () {
      return yield* VoteRateLimit
    }).pipe(Effect.provide(VoteRateLimit.layer.pipe(Layer.provide(ConfigSources.layerFrom({ env })))))

  it.effect("is 120 a minute unless set; 0 turns it off; a bad value names key, place and problem", () =>
    Effect.gen(function* () {
      assert.strictEqual((yield* limitFrom({})).perMinute, 120)
      assert.strictEqual((yield* limitFrom({ VOTE_RATE_LIMIT: "0" })).perMinute, 0)
      assert.strictEqual((yield* limitFrom({ VOTE_RATE_LIMIT: "30" })).perMinute, 30)
      for (const raw of ["-1", "1.5", "lots", "1000001"]) {
        const error = yield* Effect.flip(limitFrom({ VOTE_RATE_LIMIT: raw }))
        assert.strictEqual(
          error.message,
          `config VOTE_RATE_LIMIT (environment variable VOTE_RATE_LIMIT): "${raw}" is not a whole number from 0 to 1000000`
        )
      }
      const badProxies = yield* Effect.flip(limitFrom({ TRUSTED_PROXIES: "10.0.0.0/99" }))
      assert.include(badProxies.message, "config TRUSTED_PROXIES")
    })
  )
})

describe("the token buckets", () => {
  it("drop a bucket once it has been idle long enough to be full again", () => {
    const buckets = new TokenBuckets(60)
    for (let i = 0; i < 1000; i++) assert.strictEqual(buckets.take(`198.51.100.${i}`, 0), 0)
    assert.strictEqual(buckets.size, 1000)
    // Within the minute nothing is swept: every bucket still holds less than a full one.
    buckets.take("192.0.2.1", 59_999)
    assert.strictEqual(buckets.size, 1001)
    // A new client a minute on sweeps out the idle ones.
    buckets.take("192.0.2.2", 60_000)
    assert.strictEqual(buckets.size, 2)
  })

  it("never hold more than maxClients, however many addresses come within a minute", () => {
    const buckets = new TokenBuckets(60, { maxClients: 100 })
    for (let i = 0; i < 10_000; i++) buckets.take(`client-${i}`, i)
    assert.isAtMost(buckets.size, 100)
    // The newest clients are the ones kept: the last one is still limited.
    for (let i = 0; i < 59; i++) assert.strictEqual(buckets.take("client-9999", 10_000), 0)
    assert.isAbove(buckets.take("client-9999", 10_000), 0)
  })

  it("never earn tokens when the clock steps back", () => {
    const buckets = new TokenBuckets(1)
    assert.strictEqual(buckets.take("a", 100_000), 0)
    assert.strictEqual(buckets.take("a", 0), 60_000)
    assert.strictEqual(buckets.take("a", 160_000), 0)
  })
})
