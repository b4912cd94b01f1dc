import { Schema } from "effect"
import type { EntryId } from "./EntryId.ts"
import { OptionId } from "./OptionId.ts"
import { VoterId } from "./VoterId.ts"

/** One voter's choice, with the instant the vote service accepted it. */
export class Vote extends Schema.Class<Vote>("@voting/domain/Vote")({
  voterId: VoterId,
  option: OptionId,
  acceptedAt: Schema.DateTimeUtcFromString
}) {}

/**
 * A vote as it sits on the queue: the fields of a Redis stream entry (or of the
 * in-process twin). Flat strings keep the message readable with `XRANGE`.
 */
export const VoteMessage = Schema.Struct({
  voter: Schema.String,
  option: Schema.String,
  at: Schema.String,
  /**
   * The W3C trace context of the span that queued the vote, when that span is
   * exported: the worker links its batch span to it. Absent otherwise.
   */
  traceparent: Schema.optionalKey(Schema.String)
})
export type VoteMessage = typeof VoteMessage.Type

/** A vote taken off the queue, with the entry id that orders it. */
export interface QueuedVote {
  readonly entryId: EntryId
  readonly vote: Vote
}

/** The largest message the worker accepts; anything bigger is dead-lettered unread. */
export const maxMessageBytes = 1024
