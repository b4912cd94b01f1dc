import { assert, describe, it } from "@effect/vitest"
import { VoteQueue } from "@voting/queue"
import { Duration, Effect } from "effect"
import { PrometheusMetrics } from "effect/observability"
import { sampleQueue } from "../src/QueueGauges.ts"

const vote = (i: number) => ({ voter: `voter-${i}`.padEnd(22, "0"), option: "a", at: "2026-11-22T10:00:00.000Z" })

describe("the queue gauges", () => {
  it.effect("export the queue's length, its pending entries and dead letters as gauges, with their help", () =>
    Effect.gen(function* () {
      const queue = yield* VoteQueue
      yield* Effect.forEach([1, 2, 3], (i) => queue.enqueue(vote(i)))
      const [first] = yield* queue.receive({ consumer: "c1", count: 1, block: Duration.millis(1) })
      yield* queue.deadLetter(first!, "test")
      yield* queue.receive({ consumer: "c1", count: 1, block: Duration.millis(1) })
      yield* sampleQueue
      const text = yield* PrometheusMetrics.format()
      const line = (name: string) => text.split("\n").find((l) => l.startsWith(`${name} `))
      assert.strictEqual(line("worker_queue_entries"), "worker_queue_entries 2")
      assert.strictEqual(line("worker_queue_pending"), "worker_queue_pending 1")
      assert.strictEqual(line("worker_queue_dead_letters"), "worker_queue_dead_letters 1")
      assert.strictEqual(line("worker_queue_memory_used_ratio"), "worker_queue_memory_used_ratio 0")
      for (const name of ["worker_queue_entries", "worker_queue_pending", "worker_queue_dead_letters"]) {
        assert.include(text, `# HELP ${name} `)
        assert.include(text, `# TYPE ${name} gauge`)
      }
      // Prometheus naming: _total is for counters only.
      for (const typed of text.matchAll(/^# TYPE (\S+) gauge$/gm)) assert.notMatch(typed[1]!, /_total$/)
    }).pipe(Effect.provide(VoteQueue.layerMemory))
  )
})
