import { Effect, Layer, Metric } from "effect"

/**
 * Registers each metric so /metrics exports it, at zero, before its first
 * event. A family otherwise appears only once something happens (a counter of
 * dead letters may never), so a scrape could not tell "none yet" from "not
 * exported", and a rate() would start at the first event, not at the start.
 * Reading a metric's value registers it without changing it.
 */
export const metricsAtZero = (metrics: ReadonlyArray<Metric.Metric<never, unknown>>) =>
  Layer.effectDiscard(Effect.forEach(metrics, Metric.value, { discard: true }))
