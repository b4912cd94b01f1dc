import { Metric } from "effect"

export const votesAccepted = Metric.counter("votes_accepted_total", {
  description: "Votes put on the queue and answered 202 or 303"
})

export const votesRejected = Metric.counter("votes_rejected_total", {
  description: "Vote requests refused, by reason"
})

export const rejected = (reason: string) => Metric.update(Metric.withAttributes(votesRejected, { reason }), 1)
