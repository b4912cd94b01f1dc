import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { settleMemory, trimMallocHeap } from "../src/SettleMemory.ts"

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

  it("reaches glibc's malloc_trim on this machine (Linux, glibc, Node with node:ffi), as in the image", () => {
    assert.isTrue(trimMallocHeap())
  })
})
