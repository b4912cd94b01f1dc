import { getHeapSpaceStatistics } from "node:v8"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { collectStartupGarbage, settleMemory, trimMallocHeap } from "../src/SettleMemory.ts"

/** Every process warning emitted while `run` runs and the ticks after it. */
const warningsDuring = <A, E>(run: Effect.Effect<A, E>) =>
  Effect.gen(function* () {
    const warnings: Array<string> = []
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`)
    process.on("warning", onWarning)
    try {
      yield* run
      // process.emitWarning delivers on a later tick.
      yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
    } finally {
      process.off("warning", onWarning)
    }
    return warnings
  })

describe("settleMemory", () => {
  it.effect("writes no warning (node:ffi is experimental and says so when loaded)", () =>
    Effect.gen(function* () {
      const warnings = yield* warningsDuring(settleMemory)
      assert.deepStrictEqual(warnings, [])
    })
  )

  it("gives back the young generation start-up grew, and leaves no gc function behind", () => {
    const youngMb = () =>
      (getHeapSpaceStatistics().find((space) => space.space_name === "new_space")?.physical_space_size ?? 0) / 2 ** 20
    // Objects that survive collections make V8 grow the young generation, as a service's start-up does.
    let survivors: Array<{ readonly n: number }> = []
    for (let i = 0; i < 2_000_000; i++) {
      survivors.push({ n: i })
      if (survivors.length > 300_000) survivors = []
    }
    const grown = youngMb()
    collectStartupGarbage()
    const after = youngMb()
    assert.isAbove(grown, 2, "the young generation never grew: nothing to give back")
    assert.isAtMost(after, 0.5, `young generation ${grown.toFixed(1)} MB, then ${after.toFixed(1)} MB`)
    assert.strictEqual(typeof (globalThis as { gc?: unknown }).gc, "undefined")
  })

  it("reaches glibc's malloc_trim on this machine (Linux, glibc, Node with node:ffi), as in the image", () => {
    assert.isTrue(trimMallocHeap())
  })
})
