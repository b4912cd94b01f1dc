import { Metric } from "effect"

export const votesRecorded = Metric.counter("worker_votes_recorded_total", {
  description: "Votes taken off the queue and committed (replays and older votes included)"
})
export const rowsChanged = Metric.counter("worker_rows_changed_total", {
  description: "Voters whose stored vote changed"
})
export const batchesCommitted = Metric.counter("worker_batches_total", { description: "Batches committed" })
export const deadLetters = Metric.counter("worker_dead_letters_total", {
  description: "Malformed queue entries moved to the dead-letter stream"
})
export const dependencyFailures = Metric.counter("worker_dependency_failures_total", {
  description: "Failed calls to Redis or PostgreSQL that were retried"
})
export const reclaimed = Metric.counter("worker_reclaimed_total", {
  description: "Entries taken over from a consumer that left them idle"
})

// Gauges of the queue, sampled from Redis (QueueGauges.ts): what to alert on before Redis is full.
export const queueEntries = Metric.gauge("worker_queue_entries", {
  description: "Votes on the queue not yet recorded (the stream's length); growing means the workers lag"
})
export const queuePending = Metric.gauge("worker_queue_pending", {
  description: "Queue entries delivered to a worker and not yet acknowledged"
})
export const queueDeadLetters = Metric.gauge("worker_queue_dead_letters", {
  description: "Entries on the dead-letter stream"
})
export const queueMemoryUsedRatio = Metric.gauge("worker_queue_memory_used_ratio", {
  description: "Redis memory in use over its maxmemory (0 without one); at 1 new votes are refused with 503"
})
