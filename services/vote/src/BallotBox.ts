import { type OptionId, type QueueUnavailable, UnknownOption, type VoterId } from "@voting/domain"
import { LivePoll, requestRetry } from "@voting/platform"
import { VoteQueue } from "@voting/queue"
import { Clock, Context, Effect, Layer, Metric } from "effect"
import { votesAccepted } from "./VoteMetrics.ts"

/**
 * Takes a voter's choice: checks it against the poll as configured now and
 * puts it on the queue with the instant it was accepted. Success means the
 * vote is on the queue; any doubt is an error the caller answers with 503.
 */
export class BallotBox extends Context.Service<
  BallotBox,
  {
    readonly cast: (voterId: VoterId, choice: string) => Effect.Effect<OptionId, UnknownOption | QueueUnavailable>
  }
>()("@voting/vote/BallotBox") {
  static readonly layer = Layer.effect(
    BallotBox,
    Effect.gen(function* () {
      const poll = yield* LivePoll
      const queue = yield* VoteQueue
      return BallotBox.of({
        // Untraced: it runs for every vote, and a span and a captured stack frame each time cost more than the check.
        cast: Effect.fnUntraced(function* (voterId: VoterId, choice: string) {
          const current = yield* poll.current
          const option = current.option(choice)
          if (option === undefined) {
            return yield* new UnknownOption({ option: choice, validOptions: current.options.map((o) => o.id) })
          }
          const at = new Date(yield* Clock.currentTimeMillis).toISOString()
          // How long one attempt may take is the queue's own bound (the Redis client's command timeout),
          // not a timer raced against every vote here.
          yield* queue.enqueue({ voter: voterId, option: option.id, at }).pipe(Effect.retry(requestRetry))
          yield* Metric.update(votesAccepted, 1)
          return option.id
        })
      })
    })
  )
}
