import { assert, describe, it } from "@effect/vitest"
import type { EntryId, QueuedVote } from "@voting/domain"
import { Health, LivePoll } from "@voting/platform"
import { makeMemoryVoteQueue, VoteQueue } from "@voting/queue"
import { makeMemoryVoteStore, StoreUnavailable, VoteStore } from "@voting/store"
import { pollOf } from "@voting/test-support/Polls"
import { Deferred, Duration, Effect, Fiber, Layer, Queue } from "effect"
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

/** A write the store has been asked for, held until the test says how it ends. */
interface HeldWrite {
  readonly votes: ReadonlyArray<QueuedVote>
  readonly outcome: Deferred.Deferred<"commit" | "fail">
}

/**
 * The in-memory store and queue, wrapped so the test sees every write the
 * worker asks for (and decides when each commits or fails) and every
 * acknowledgement it sends. The memory twins underneath outlive the wrapped
 * layer, so a second worker can take over what a killed one left.
 */
const observed = Effect.gen(function* () {
  const store = yield* makeMemoryVoteStore
  const queue = yield* makeMemoryVoteQueue
  const writes = yield* Queue.unbounded<HeldWrite>()
  const acknowledged = yield* Queue.unbounded<ReadonlyArray<EntryId>>()
  const committed = yield* Queue.unbounded<ReadonlyArray<QueuedVote>>()
  const heldStore = VoteStore.of({
    ...store,
    record: (votes) =>
      Effect.gen(function* () {
        const outcome = yield* Deferred.make<"commit" | "fail">()
        yield* Queue.offer(writes, { votes, outcome })
        if ((yield* Deferred.await(outcome)) === "fail") {
          return yield* new StoreUnavailable({ operation: "record votes", cause: "connection reset" })
        }
        return yield* Effect.tap(store.record(votes), () => Queue.offer(committed, votes))
      })
  })
  const watchedQueue = VoteQueue.of({
    ...queue,
    acknowledge: (ids) => Effect.andThen(queue.acknowledge(ids), Queue.offer(acknowledged, ids))
  })
  const layer = Layer.mergeAll(
    Layer.succeed(VoteStore, heldStore),
    Layer.succeed(VoteQueue, watchedQueue),
    LivePoll.layerStatic(poll),
    Health.layer
  )
  return { store, queue, watchedQueue, writes, committed, acknowledged, layer }
})

const sumOf = (votes: ReadonlyMap<string, number>) => [...votes.values()].reduce((sum, count) => sum + count, 0)

const idsOf = (write: HeldWrite) => write.votes.map((queued) => queued.entryId)
const enqueueVoters = (queue: VoteQueue["Service"], count: number) =>
  Effect.forEach(
    Array.from({ length: count }, (_, i) => i),
    (i) => queue.enqueue({ voter: voter(`v${i}`), option: i % 2 === 0 ? "a" : "b", at })
  )

describe("VoteWorkerLoop with several batches in flight", () => {
  it.live("acknowledges an entry only once its own batch committed, whatever the others do", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const { queue, writes, acknowledged, layer } = yield* observed
        yield* enqueueVoters(queue, 6)
        yield* Layer.build(VoteWorkerLoop({ ...settings, batchesInFlight: 2 })).pipe(Effect.provide(layer))
        const first = yield* Queue.take(writes)
        const second = yield* Queue.take(writes)
        // Both batches are in the store's hands at once, and nothing is acknowledged before a commit.
        assert.strictEqual(yield* Queue.size(acknowledged), 0)
        assert.deepStrictEqual((yield* queue.depth).pending, 6)
        // The later batch commits first: its own entries, and only those, are acknowledged.
        yield* Deferred.succeed(second.outcome, "commit")
        assert.deepStrictEqual(yield* Queue.take(acknowledged), idsOf(second))
        assert.deepInclude(yield* queue.depth, { entries: 3, pending: 3, deadLetters: 0 })
        yield* Deferred.succeed(first.outcome, "commit")
        assert.deepStrictEqual(yield* Queue.take(acknowledged), idsOf(first))
        assert.deepStrictEqual((yield* queue.depth).entries, 0)
      })
    )
  )

  it.live("acknowledges nothing of an earlier batch that failed while a later one committed, until it commits", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const { store, queue, writes, acknowledged, layer } = yield* observed
        yield* enqueueVoters(queue, 6)
        yield* Layer.build(VoteWorkerLoop({ ...settings, batchesInFlight: 2 })).pipe(Effect.provide(layer))
        const first = yield* Queue.take(writes)
        const second = yield* Queue.take(writes)
        yield* Deferred.succeed(second.outcome, "commit")
        assert.deepStrictEqual(yield* Queue.take(acknowledged), idsOf(second))
        yield* Deferred.succeed(first.outcome, "fail")
        // The failed batch is written again (retried), still unacknowledged and uncounted meanwhile.
        const retry = yield* Queue.take(writes)
        assert.deepStrictEqual(idsOf(retry), idsOf(first))
        assert.strictEqual(yield* Queue.size(acknowledged), 0)
        assert.deepInclude(yield* queue.depth, { entries: 3, pending: 3, deadLetters: 0 })
        assert.strictEqual(sumOf((yield* store.tally).votes), 3)
        yield* Deferred.succeed(retry.outcome, "commit")
        assert.deepStrictEqual(yield* Queue.take(acknowledged), idsOf(first))
        assert.strictEqual(sumOf((yield* store.tally).votes), 6)
        assert.deepStrictEqual((yield* queue.depth).entries, 0)
      })
    )
  )

  it.live("loses nothing when killed with several batches in flight, one of them committed but not acknowledged", () =>
    Effect.gen(function* () {
      const { store, queue, watchedQueue, writes, committed, acknowledged, layer } = yield* observed
      const queued = yield* enqueueVoters(queue, 9)
      // The first worker: three batches in flight, one committed, none acknowledged, when it dies.
      const hangingAcks = VoteQueue.of({ ...queue, acknowledge: () => Effect.never })
      const doomed = { ...settings, consumer: "killed", batchesInFlight: 3, drainTimeout: Duration.millis(1) }
      const killed = yield* Effect.forkChild(
        Effect.scoped(Effect.andThen(Layer.build(VoteWorkerLoop(doomed)), Effect.never)).pipe(
          Effect.provide(Layer.merge(layer, Layer.succeed(VoteQueue, hangingAcks)))
        )
      )
      const inFlight = [yield* Queue.take(writes), yield* Queue.take(writes), yield* Queue.take(writes)]
      yield* Deferred.succeed(inFlight[0]!.outcome, "commit")
      yield* Queue.take(committed)
      assert.strictEqual(sumOf((yield* store.tally).votes), 3)
      assert.deepInclude(yield* queue.depth, { entries: 9, pending: 9, deadLetters: 0 })
      // SIGKILL: everything stops where it is, and nothing it held is acknowledged.
      yield* Fiber.interrupt(killed)
      assert.deepInclude(yield* queue.depth, { entries: 9, pending: 9, deadLetters: 0 })
      // A new worker takes over the idle entries; the replay of the committed batch changes nothing.
      const replacement = {
        ...settings,
        consumer: "replacement",
        reclaimIdle: Duration.millis(50),
        reclaimEvery: Duration.millis(20)
      }
      const plain = Layer.mergeAll(
        Layer.succeed(VoteStore, store),
        Layer.succeed(VoteQueue, watchedQueue),
        LivePoll.layerStatic(poll),
        Health.layer
      )
      yield* Effect.scoped(
        Effect.gen(function* () {
          yield* Layer.build(VoteWorkerLoop(replacement)).pipe(Effect.provide(plain))
          const finished = new Set<EntryId>()
          while (finished.size < queued.length) for (const id of yield* Queue.take(acknowledged)) finished.add(id)
        })
      )
      assert.deepStrictEqual(Object.fromEntries((yield* store.tally).votes), { a: 5, b: 4 })
      assert.deepInclude(yield* queue.depth, { entries: 0, pending: 0, deadLetters: 0 })
    })
  )
})
