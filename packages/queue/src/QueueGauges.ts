import { metricsAtZero } from "@voting/platform"
import { Duration, Effect, Layer, Metric, Schedule } from "effect"
import { VoteQueue } from "./VoteQueue.ts"

// Gauges of the queue, read from Redis: is the worker keeping up, and how long before Redis is full?
// Sampled by the vote service and by the worker alike, so the lag stays visible while every worker is
// stopped; a dashboard takes max() over the instances.
export const queueEntries = Metric.gauge("vote_queue_entries", {
  description: "Votes on the queue not yet recorded (the stream's length); growing means the workers lag"
})
export const queuePending = Metric.gauge("vote_queue_pending", {
  description: "Queue entries delivered to a worker and not yet acknowledged"
})
export const queueOldestAge = Metric.gauge("vote_queue_oldest_pending_age_seconds", {
  description: "Age of the oldest vote on the queue not yet recorded, by Redis's clock (0 when the queue is empty)"
})
export const queueDeadLetters = Metric.gauge("vote_queue_dead_letters", {
  description: "Entries on the dead-letter stream"
})
export const queueMemoryUsedRatio = Metric.gauge("vote_queue_memory_used_ratio", {
  description: "Redis memory in use over its maxmemory (0 without one); at 1 new votes are refused with 503"
})

/** How often the gauges are read from Redis: about a Prometheus scrape interval. */
export const queueGaugeInterval = Duration.seconds(5)

/** Reads the queue's length, pending entries, oldest entry, dead letters and memory into the gauges, once. */
export const sampleQueue = Effect.gen(function* () {
  const queue = yield* VoteQueue
  const depth = yield* queue.depth
  yield* Metric.update(queueEntries, depth.entries)
  yield* Metric.update(queuePending, depth.pending)
  yield* Metric.update(queueOldestAge, depth.oldestAgeMs / 1000)
  yield* Metric.update(queueDeadLetters, depth.deadLetters)
  const memory = yield* queue.memory
  yield* Metric.update(queueMemoryUsedRatio, memory.limit > 0 ? memory.used / memory.limit : 0)
})

/**
 * Keeps the queue gauges current while the component runs, from its start. A
 * failed read leaves them as they were (readiness reports Redis down) and is
 * tried again next time.
 */
export const QueueGauges = Layer.merge(
  metricsAtZero([queueEntries, queuePending, queueOldestAge, queueDeadLetters, queueMemoryUsedRatio]),
  Layer.effectDiscard(
    sampleQueue.pipe(Effect.ignore, Effect.repeat(Schedule.spaced(queueGaugeInterval)), Effect.forkScoped)
  )
)
