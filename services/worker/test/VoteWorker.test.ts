import { assert, describe, it } from "@effect/vitest"
import { Health, LivePoll } from "@voting/platform"
import { VoteQueue } from "@voting/queue"
import { makeMemoryVoteStore, StoreUnavailable, VoteStore } from "@voting/store"
import { pollOf } from "@voting/test-support/Polls"
import { Duration, Effect, Fiber, Layer } from "effect"
import { TestClock } from "effect/testing"
import { makeVoteWorker, VoteWorkerLoop, type WorkerSettings } from "../src/VoteWorker.ts"

const poll = pollOf("Pets", "a=Cats,b=Dogs")
const settings: WorkerSettings = {
  batchSize: 3,
  batchesInFlight: 2,
  block: Duration.millis(10),
  reclaimIdle: Duration.seconds(10),
  reclaimEvery: Duration.seconds(1),
  consumer: "worker-1",
  drainTimeout: Duration.seconds(1)
}
const voter = (name: string) => name.padEnd(22, "0")
const at = "2026-11-22T10:00:00.000Z"

/** The in-memory store, failing its first `failures` writes the way an unreachable database does. */
const blinkingStore = (failures: number) =>
  Layer.effect(
    VoteStore,
    Effect.gen(function* () {
      const store = yield* makeMemoryVoteStore
      let remaining = failures
      return VoteStore.of({
        ...store,
        record: (batch) =>
          Effect.suspend(() =>
            remaining-- > 0
              ? Effect.fail(new StoreUnavailable({ operation: "record votes", cause: "connection refused" }))
              : store.record(batch)
          )
      })
    })
  )

const layer = (store: Layer.Layer<VoteStore> = VoteStore.layerMemory) =>
  Layer.mergeAll(VoteQueue.layerMemory, store, LivePoll.layerStatic(poll))

const tallyOf = Effect.gen(function* () {
  const store = yield* VoteStore
  return Object.fromEntries((yield* store.tally).votes)
})

/** Runs the worker until the queue has nothing more to give. */
const drain = Effect.gen(function* () {
  const worker = yield* makeVoteWorker(settings)
  for (;;) {
    const batch = yield* worker.nextBatch
    if (batch.length === 0) return
    yield* worker.processBatch(batch)
  }
})

describe("VoteWorker", () => {
  it.live("moves votes to the store in batches, the latest per voter winning, and empties the queue", () =>
    Effect.gen(function* () {
      const queue = yield* VoteQueue
      for (const [name, option] of [
        ["ann", "a"],
        ["bob", "a"],
        ["ann", "b"],
        ["cy", "b"],
        ["bob", "b"],
        ["ann", "a"],
        ["dee", "a"]
      ]) {
        yield* queue.enqueue({ voter: voter(name!), option: option!, at })
      }
      yield* drain
      assert.deepStrictEqual(yield* tallyOf, { a: 2, b: 2 })
      assert.deepStrictEqual(yield* queue.depth, { entries: 0, pending: 0, deadLetters: 0, oldestAgeMs: 0 })
    }).pipe(Effect.provide(layer()))
  )

  it.live("dead-letters malformed entries with their reason and goes on with the rest", () =>
    Effect.gen(function* () {
      const queue = yield* VoteQueue
      yield* queue.enqueue({ voter: voter("ann"), option: "a", at })
      yield* queue.enqueue({ voter: "not a voter", option: "a", at })
      yield* queue.enqueue({ voter: voter("bob"), option: "zebra", at })
      yield* queue.enqueue({ voter: voter("cy"), option: "b", at: "soon" })
      yield* queue.enqueue({ voter: voter("dee"), option: "b", at })
      yield* drain
      assert.deepStrictEqual(yield* tallyOf, { a: 1, b: 1 })
      assert.deepStrictEqual(yield* queue.depth, { entries: 0, pending: 0, deadLetters: 3, oldestAgeMs: 0 })
    }).pipe(Effect.provide(layer()))
  )

  it.effect("retries a failing store with backoff and acknowledges nothing until the votes are committed", () =>
    Effect.gen(function* () {
      const queue = yield* VoteQueue
      yield* queue.enqueue({ voter: voter("ann"), option: "a", at })
      const worker = yield* makeVoteWorker(settings)
      const batch = yield* worker.nextBatch
      const processing = yield* Effect.forkChild(worker.processBatch(batch))
      yield* TestClock.adjust("50 millis")
      // Still failing: the vote is held, unacknowledged, and not counted; it has waited 50 ms.
      assert.deepStrictEqual(yield* queue.depth, { entries: 1, pending: 1, deadLetters: 0, oldestAgeMs: 50 })
      assert.deepStrictEqual(yield* tallyOf, {})
      yield* TestClock.adjust("30 seconds")
      yield* Fiber.join(processing)
      assert.deepStrictEqual(yield* tallyOf, { a: 1 })
      assert.deepStrictEqual(yield* queue.depth, { entries: 0, pending: 0, deadLetters: 0, oldestAgeMs: 0 })
    }).pipe(Effect.provide(layer(blinkingStore(4))))
  )

  it.effect("takes over a crashed consumer's entries once they have been idle long enough", () =>
    Effect.gen(function* () {
      const queue = yield* VoteQueue
      yield* queue.enqueue({ voter: voter("ann"), option: "b", at })
      // Another worker took the entry and died before acknowledging it.
      yield* queue.receive({ consumer: "crashed", count: 10, block: Duration.millis(1) })
      const worker = yield* makeVoteWorker(settings)
      yield* TestClock.adjust("5 seconds")
      // Not idle long enough yet: nothing to reclaim, and the read waits out its block time empty.
      const early = yield* Effect.forkChild(worker.nextBatch)
      yield* TestClock.adjust(settings.block)
      assert.deepStrictEqual(yield* Fiber.join(early), [])
      yield* TestClock.adjust("6 seconds")
      const reclaimed = yield* worker.nextBatch
      assert.strictEqual(reclaimed.length, 1)
      yield* worker.processBatch(reclaimed)
      assert.deepStrictEqual(yield* tallyOf, { b: 1 })
      assert.strictEqual((yield* queue.depth).entries, 0)
    }).pipe(Effect.provide(layer()))
  )
})

describe("VoteWorkerLoop", () => {
  it.live("with drainOnStop, counts everything still queued when shutdown begins", () =>
    Effect.gen(function* () {
      const queue = yield* VoteQueue
      const health = yield* Health
      // Shutdown has begun before the worker starts: a plain worker would take nothing.
      yield* health.beginShutdown
      for (let i = 0; i < 7; i++) yield* queue.enqueue({ voter: voter(`late${i}`), option: "b", at })
      yield* Effect.scoped(Layer.build(VoteWorkerLoop({ ...settings, drainOnStop: true })))
      assert.deepStrictEqual(yield* tallyOf, { b: 7 })
      assert.strictEqual((yield* queue.depth).entries, 0)
    }).pipe(Effect.provide(Layer.merge(layer(), Health.layer)))
  )
})
