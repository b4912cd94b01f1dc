import { assert, describe, it } from "@effect/vitest"
import { conventionProblems, parseMetrics, sampleValue } from "@voting/test-support/MetricsText"
import { Duration, Effect, Fiber, Layer, Metric } from "effect"
import { PrometheusMetrics } from "effect/observability"
import { TestClock } from "effect/testing"
import { QueueGauges, queueGaugeInterval, sampleQueue } from "../src/QueueGauges.ts"
import { VoteQueue } from "../src/VoteQueue.ts"

const vote = (i: number) => ({ voter: `voter-${i}`.padEnd(22, "0"), option: "a", at: "2026-11-22T10:00:00.000Z" })

const scrape = Effect.map(PrometheusMetrics.format(), parseMetrics)

const gauges = [
  "vote_queue_entries",
  "vote_queue_pending",
  "vote_queue_oldest_pending_age_seconds",
  "vote_queue_dead_letters",
  "vote_queue_memory_used_ratio"
]

describe("the queue gauges", () => {
  it.effect("export the queue's length, pending entries, oldest entry's age and dead letters, with HELP and TYPE", () =>
    Effect.gen(function* () {
      const queue = yield* VoteQueue
      yield* Effect.forEach([1, 2, 3], (i) => queue.enqueue(vote(i)))
      yield* TestClock.adjust("2500 millis")
      const [first] = yield* queue.receive({ consumer: "c1", count: 1, block: Duration.millis(1) })
      yield* queue.deadLetter(first!, "test")
      yield* queue.receive({ consumer: "c1", count: 1, block: Duration.millis(1) })
      yield* sampleQueue
      const families = yield* scrape
      assert.strictEqual(sampleValue(families, "vote_queue_entries"), 2)
      assert.strictEqual(sampleValue(families, "vote_queue_pending"), 1)
      assert.strictEqual(sampleValue(families, "vote_queue_dead_letters"), 1)
      assert.strictEqual(sampleValue(families, "vote_queue_memory_used_ratio"), 0)
      // In seconds: the two left were queued 2.5 s ago.
      assert.strictEqual(sampleValue(families, "vote_queue_oldest_pending_age_seconds"), 2.5)
      for (const name of gauges) assert.strictEqual(families.get(name)?.type, "gauge", name)
      assert.deepStrictEqual(conventionProblems(families), [])
    }).pipe(Effect.provide(VoteQueue.layerMemory), Effect.provideService(Metric.MetricRegistry, new Map()))
  )

  it.effect(
    "are exported at 0 from the start, then follow the queue every interval: grow while it waits, 0 once drained",
    () =>
      Effect.gen(function* () {
        const queue = yield* VoteQueue
        const running = yield* Effect.forkChild(
          Effect.scoped(Layer.build(QueueGauges).pipe(Effect.andThen(Effect.never)))
        )
        yield* Effect.yieldNow
        let families = yield* scrape
        for (const name of gauges) assert.strictEqual(sampleValue(families, name), 0, name)

        const ids = yield* Effect.forEach([1, 2], (i) => queue.enqueue(vote(i)))
        yield* TestClock.adjust(queueGaugeInterval)
        families = yield* scrape
        assert.strictEqual(sampleValue(families, "vote_queue_entries"), 2)
        assert.strictEqual(sampleValue(families, "vote_queue_oldest_pending_age_seconds"), 5)
        yield* TestClock.adjust(queueGaugeInterval)
        assert.strictEqual(sampleValue(yield* scrape, "vote_queue_oldest_pending_age_seconds"), 10)

        yield* queue.receive({ consumer: "c1", count: 2, block: Duration.millis(1) })
        yield* queue.acknowledge(ids)
        yield* TestClock.adjust(queueGaugeInterval)
        families = yield* scrape
        assert.strictEqual(sampleValue(families, "vote_queue_entries"), 0)
        assert.strictEqual(sampleValue(families, "vote_queue_oldest_pending_age_seconds"), 0)
        yield* Fiber.interrupt(running)
      }).pipe(Effect.provide(VoteQueue.layerMemory), Effect.provideService(Metric.MetricRegistry, new Map()))
  )
})
