import { metricsAtZero } from "@voting/platform"
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

/** A batch is at most the worker's batch size (1,000 by default). */
export const batchSize = Metric.histogram("worker_batch_size_votes", {
  description: "Votes in each committed batch",
  boundaries: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, Number.POSITIVE_INFINITY]
})
export const commitDuration = Metric.histogram("worker_commit_duration_seconds", {
  description: "Time to write one batch to the store and commit it (each successful attempt)",
  boundaries: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, Number.POSITIVE_INFINITY]
})

/** Every worker metric, exported at 0 from the start (a worker may never see a dead letter). */
export const WorkerMetricsAtZero = metricsAtZero([
  votesRecorded,
  rowsChanged,
  batchesCommitted,
  deadLetters,
  dependencyFailures,
  reclaimed,
  batchSize,
  commitDuration
])
