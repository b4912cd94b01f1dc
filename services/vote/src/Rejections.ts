import type { UnknownOption } from "@voting/domain"
import type { QueueUnavailable } from "@voting/queue"
import { Schema } from "effect"
import { maxBodyBytes } from "./RequestBody.ts"
import type { RejectionReason } from "./VoteMetrics.ts"
import type { RateLimited } from "./VoteRateLimit.ts"

export class CrossSiteRequest extends Schema.TaggedError<CrossSiteRequest>()("CrossSiteRequest", {}) {}
export class BodyTooLarge extends Schema.TaggedError<BodyTooLarge>()("BodyTooLarge", {}) {}
export class UnsupportedMediaType extends Schema.TaggedError<UnsupportedMediaType>()("UnsupportedMediaType", {
  expected: Schema.String
}) {}
export class UnreadableBody extends Schema.TaggedError<UnreadableBody>()("UnreadableBody", {}) {}
export class MalformedVote extends Schema.TaggedError<MalformedVote>()("MalformedVote", {
  detail: Schema.String
}) {}

/** Every reason a vote request can be refused. */
export type Rejection =
  | CrossSiteRequest
  | BodyTooLarge
  | UnsupportedMediaType
  | UnreadableBody
  | MalformedVote
  | UnknownOption
  | RateLimited
  | QueueUnavailable

export interface RejectionAnswer {
  readonly status: number
  readonly title: string
  /** Said to the voter; always ends by saying the vote was not recorded. */
  readonly detail: string
  /** The metric label. */
  readonly reason: RejectionReason
  /** Seconds to wait before trying again, sent as `Retry-After`. */
  readonly retryAfter?: number
}

const notRecorded = "Your vote was not recorded."

/** The status and plain words for each refusal, shared by the page and the JSON API. */
export const answerFor = (rejection: Rejection): RejectionAnswer => {
  switch (rejection._tag) {
    case "CrossSiteRequest":
      return {
        status: 403,
        title: "Forbidden",
        detail: `Votes can only be sent from this site's own page. ${notRecorded}`,
        reason: "cross-site"
      }
    case "BodyTooLarge":
      return {
        status: 413,
        title: "Content too large",
        detail: `The request body is larger than ${maxBodyBytes / 1024} KiB. ${notRecorded}`,
        reason: "too-large"
      }
    case "UnsupportedMediaType":
      return {
        status: 415,
        title: "Unsupported media type",
        detail: `Send the vote as ${rejection.expected}. ${notRecorded}`,
        reason: "media-type"
      }
    case "UnreadableBody":
      return {
        status: 400,
        title: "Bad request",
        detail: `The request body could not be read. ${notRecorded}`,
        reason: "unreadable"
      }
    case "MalformedVote":
      return { status: 400, title: "Bad request", detail: `${rejection.detail} ${notRecorded}`, reason: "malformed" }
    case "UnknownOption":
      return {
        status: 400,
        title: "Not an option",
        detail: `That is not an option of this poll; valid options are ${rejection.validOptions.join(", ")}. ${notRecorded}`,
        reason: "unknown-option"
      }
    case "RateLimited":
      return {
        status: 429,
        title: "Too many votes",
        detail: `Too many votes have come from your network in the last minute (this poll takes up to ${rejection.perMinute} a minute from one address). Please try again in ${rejection.retryAfter} ${rejection.retryAfter === 1 ? "second" : "seconds"}. ${notRecorded}`,
        reason: "rate-limited",
        retryAfter: rejection.retryAfter
      }
    case "QueueUnavailable":
      return {
        status: 503,
        title: "Vote not recorded",
        detail: `We could not record your vote just now. Nothing was counted; please try again in a moment.`,
        reason: "queue-unavailable"
      }
  }
}
