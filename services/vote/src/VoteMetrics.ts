import { metricsAtZero } from "@voting/platform"
import { Metric } from "effect"

export const votesAccepted = Metric.counter("votes_accepted_total", {
  description: "Votes put on the queue and answered 202 or 303"
})

export const votesRejected = Metric.counter("votes_rejected_total", {
  description: "Vote requests refused, by reason"
})

/** Every `reason` a refusal is counted under (docs/interface.md, "Refused votes"). */
export const rejectionReasons = [
  "cross-site",
  "media-type",
  "too-large",
  "unreadable",
  "malformed",
  "unknown-option",
  "rate-limited",
  "queue-unavailable"
] as const
export type RejectionReason = (typeof rejectionReasons)[number]

const rejectedBy = (reason: RejectionReason) => Metric.withAttributes(votesRejected, { reason })

export const rejected = (reason: RejectionReason) => Metric.update(rejectedBy(reason), 1)

/** The vote service's own metrics, every refusal reason included, exported at 0 from the start. */
export const VoteMetricsAtZero = metricsAtZero([votesAccepted, ...rejectionReasons.map(rejectedBy)])
