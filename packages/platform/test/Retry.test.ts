import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Ref } from "effect"
import { TestClock } from "effect/testing"
import { dependencyBackoff, requestRetry } from "../src/Retry.ts"

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
