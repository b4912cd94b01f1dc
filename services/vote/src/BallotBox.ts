import type { VoteMessage } from "@voting/domain"
import { type OptionId, UnknownOption, type VoterId } from "@voting/domain"
import { type ClientRequest, encodeTraceparent, LivePoll, requestRetry, TracingEnabled } from "@voting/platform"
import { type QueueUnavailable, VoteQueue } from "@voting/queue"
import { Clock, Context, Effect, Layer, Metric } from "effect"
import { votesAccepted } from "./VoteMetrics.ts"
import { type RateLimited, VoteRateLimit } from "./VoteRateLimit.ts"

/**
 * Takes a voter's choice: checks it against the poll as configured now, takes
 * one vote from its client's rate limit (only a vote that would be accepted
 * counts) and puts it on the queue with the instant it was accepted. Success means the
 * vote is on the queue; any doubt is an error the caller answers with 503.
 */
export class BallotBox extends Context.Service<
  BallotBox,
  {
    readonly cast: (
      voterId: VoterId,
      choice: string,
      request: ClientRequest
    ) => Effect.Effect<OptionId, UnknownOption | RateLimited | QueueUnavailable>
  }
>()("@voting/vote/BallotBox") {
  static readonly layer = Layer.effect(
    BallotBox,
    Effect.gen(function* () {
      const poll = yield* LivePoll
      const queue = yield* VoteQueue
      const limit = yield* VoteRateLimit
      const countAccepted = Metric.update(votesAccepted, 1)
      // With tracing on, the vote is queued inside its own producer span, whose context rides in the
      // entry for the worker; with tracing off, the plain call, so an untraced vote pays nothing.
      const enqueue = (yield* TracingEnabled)
        ? (message: VoteMessage) =>
            Effect.withFiber((fiber) => {
              const span = fiber.cache.span
              return queue.enqueue(
                span?._tag === "Span" && span.sampled ? { ...message, traceparent: encodeTraceparent(span) } : message
              )
            }).pipe(
              // A line a traced vote at debug level, carrying the trace id (Logging.ts), for finding it.
              Effect.tap((entry) => Effect.logDebug("vote queued", { entry })),
              Effect.withSpan("VoteQueue.enqueue", { kind: "producer" })
            )
        : queue.enqueue
      return BallotBox.of({
        // Plain combinators rather than a traced generator: this runs for every vote.
        cast: (voterId, choice, request) =>
          Effect.flatMap(
            poll.current,
            (current): Effect.Effect<OptionId, UnknownOption | RateLimited | QueueUnavailable> => {
              const option = current.option(choice)
              if (option === undefined) {
                return Effect.fail(
                  new UnknownOption({ option: choice, validOptions: current.options.map((o) => o.id) })
                )
              }
              return Effect.flatMap(
                Clock.currentTimeMillis,
                (now): Effect.Effect<OptionId, RateLimited | QueueUnavailable> => {
                  const limited = limit.take(request, now)
                  if (limited !== undefined) return Effect.fail(limited)
                  // How long one attempt may take is the queue's own bound (the Redis client's command timeout),
                  // not a timer raced against every vote here.
                  return enqueue({ voter: voterId, option: option.id, at: new Date(now).toISOString() }).pipe(
                    Effect.retry(requestRetry),
                    Effect.andThen(countAccepted),
                    Effect.as(option.id)
                  )
                }
              )
            }
          )
      })
    })
  )
}
