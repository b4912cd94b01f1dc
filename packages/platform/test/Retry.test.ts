import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Logger, Ref } from "effect"
import { TestClock } from "effect/testing"
import { dependencyBackoff, requestRetry, retryWithBackoff } from "../src/Retry.ts"

/** Counts attempts of an effect that fails until it has been tried `failures` times. */
const flaky = (failures: number) =>
  Effect.gen(function* () {
    const attempts = yield* Ref.make(0)
    const attempt = Ref.updateAndGet(attempts, (n) => n + 1).pipe(
      Effect.flatMap((n) => (n <= failures ? Effect.fail(`failure ${n}`) : Effect.succeed(n)))
    )
    return { attempts, attempt }
  })

describe("retry schedules", () => {
  it.effect("dependencyBackoff keeps retrying, waiting longer each time but never more than about 5 s", () =>
    Effect.gen(function* () {
      const { attempts, attempt } = yield* flaky(20)
      const fiber = yield* Effect.forkChild(Effect.retry(attempt, dependencyBackoff))
      // Jitter scales each delay by 0.8..1.2: after 100 ms only the first retry can have happened.
      yield* TestClock.adjust("130 millis")
      assert.strictEqual(yield* Ref.get(attempts), 2)
      // 20 failures at capped delays (≤ 6 s each with jitter) all pass within two minutes.
      yield* TestClock.adjust("2 minutes")
      assert.strictEqual(yield* Fiber.join(fiber), 21)
    })
  )

  it.effect("requestRetry gives up after three attempts, quickly", () =>
    Effect.gen(function* () {
      const { attempts, attempt } = yield* flaky(5)
      const fiber = yield* Effect.forkChild(Effect.retry(attempt, requestRetry).pipe(Effect.flip))
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* Fiber.join(fiber), "failure 3")
      assert.strictEqual(yield* Ref.get(attempts), 3)
    })
  )
})

/** An effect that fails with a message until it has been tried `failures` times. */
const failingWithMessage = (failures: number) =>
  Effect.gen(function* () {
    const attempts = yield* Ref.make(0)
    const attempt = Ref.updateAndGet(attempts, (n) => n + 1).pipe(
      Effect.flatMap((n) => (n <= failures ? Effect.fail(new Error(`refused ${n}`)) : Effect.succeed(n)))
    )
    return { attempts, attempt }
  })

/** The warnings logged while `effect` runs, as [message, annotations] pairs. */
const capturingWarnings = (warnings: Array<ReadonlyArray<unknown>>) =>
  Logger.layer([
    Logger.make(({ logLevel, message }) => {
      if (logLevel === "Warn") warnings.push([message].flat())
    })
  ])

describe("retryWithBackoff", () => {
  it.effect("logs each failure with its reason, runs onFailure first, and retries until it succeeds", () => {
    const warnings: Array<ReadonlyArray<unknown>> = []
    return Effect.gen(function* () {
      const { attempt } = yield* failingWithMessage(3)
      const failures = yield* Ref.make(0)
      const fiber = yield* Effect.forkChild(
        attempt.pipe(retryWithBackoff("reading failed; retrying", { onFailure: Ref.update(failures, (n) => n + 1) }))
      )
      yield* TestClock.adjust("1 minute")
      assert.strictEqual(yield* Fiber.join(fiber), 4)
      assert.strictEqual(yield* Ref.get(failures), 3)
      assert.deepStrictEqual(warnings, [
        ["reading failed; retrying", { reason: "refused 1" }],
        ["reading failed; retrying", { reason: "refused 2" }],
        ["reading failed; retrying", { reason: "refused 3" }]
      ])
    }).pipe(Effect.provide(capturingWarnings(warnings)))
  })

  it.effect("with upTo, gives up once that long has passed and fails with the last error", () =>
    Effect.gen(function* () {
      const { attempts, attempt } = yield* failingWithMessage(1_000)
      const fiber = yield* Effect.forkChild(
        attempt.pipe(retryWithBackoff("migration attempt failed; retrying", { upTo: "30 seconds" }), Effect.flip)
      )
      yield* TestClock.adjust("2 minutes")
      const error = yield* Fiber.join(fiber)
      const tried = yield* Ref.get(attempts)
      assert.strictEqual(error.message, `refused ${tried}`)
      // 100 ms doubling to 5 s: about a dozen attempts fit in 30 s, never the thousand it would take.
      assert.isAbove(tried, 5)
      assert.isBelow(tried, 20)
    }).pipe(Effect.provide(Logger.layer([])))
  )
})
