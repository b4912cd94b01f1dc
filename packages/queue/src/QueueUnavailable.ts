import { Schema } from "effect"

/**
 * The queue could not take or give a vote; the caller may retry. The cause is
 * what the queue's driver failed with; the message says it in the driver's
 * words, never more (the cause itself is not printed).
 */
export class QueueUnavailable extends Schema.TaggedError<QueueUnavailable>()("QueueUnavailable", {
  operation: Schema.String,
  cause: Schema.Defect()
}) {
  override get message(): string {
    return `queue unavailable during ${this.operation}: ${this.cause instanceof Error ? this.cause.message : String(this.cause)}`
  }
}
