import { VoteQueue } from "@voting/queue"
import { Duration, Effect, Layer, Metric, Schedule } from "effect"
import { queueDeadLetters, queueEntries, queueMemoryUsedRatio, queuePending } from "./WorkerMetrics.ts"

/** How often the gauges are read from Redis: about a Prometheus scrape interval. */
export const queueGaugeInterval = Duration.seconds(5)

/** Reads the queue's length, pending entries, dead letters and memory into the gauges, once. */
export const sampleQueue = Effect.gen(function* () {
  const queue = yield* VoteQueue
  const depth = yield* queue.depth
  yield* Metric.update(queueEntries, depth.entries)
  yield* Metric.update(queuePending, depth.pending)
  yield* Metric.update(queueDeadLetters, depth.deadLetters)
  const memory = yield* queue.memory
  yield* Metric.update(queueMemoryUsedRatio, memory.limit > 0 ? memory.used / memory.limit : 0)
})

/**
 * Keeps the queue gauges current while the worker runs. A failed read leaves
 * them as they were (readiness reports Redis down) and is tried again next time.
 */
export const QueueGauges = Layer.effectDiscard(
  sampleQueue.pipe(Effect.ignore, Effect.repeat(Schedule.spaced(queueGaugeInterval)), Effect.forkScoped)
)
