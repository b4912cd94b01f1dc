import type { InvalidConfig, Poll } from "@voting/domain"
import { Context, Duration, Effect, Layer, Schedule, Stream, SubscriptionRef } from "effect"
import { pollConfig } from "./AppConfig.ts"
import { ConfigSources } from "./ConfigSources.ts"

/** How often the poll files are read again; the contract promises changes within 5 seconds. */
export const pollRefreshInterval = Duration.seconds(2)

/**
 * The poll title and options, kept current while the process runs. A mounted
 * ConfigMap changes its files in place; this re-reads them and publishes a new
 * poll when they differ. A file that turns malformed keeps the last good poll.
 */
export class LivePoll extends Context.Service<
  LivePoll,
  {
    readonly current: Effect.Effect<Poll>
    readonly changes: Stream.Stream<Poll>
  }
>()("@voting/platform/LivePoll") {
  static readonly layer: Layer.Layer<LivePoll, InvalidConfig, ConfigSources> = Layer.effect(
    LivePoll,
    Effect.gen(function* () {
      const sources = yield* ConfigSources
      const load = pollConfig.pipe(Effect.provideService(ConfigSources, sources))
      const ref = yield* SubscriptionRef.make(yield* load)

      const refresh = load.pipe(
        Effect.flatMap((next) =>
          SubscriptionRef.update(ref, (previous) => (samePoll(previous, next) ? previous : next))
        ),
        Effect.catchTag("InvalidConfig", (error) =>
          Effect.logWarning("poll config is malformed; keeping the last good poll", { error: error.message })
        )
      )
      yield* refresh.pipe(Effect.repeat(Schedule.spaced(pollRefreshInterval)), Effect.forkScoped)

      return LivePoll.of({
        current: SubscriptionRef.get(ref),
        changes: SubscriptionRef.changes(ref).pipe(Stream.changesWith(samePoll))
      })
    })
  )

  /** A fixed poll, for tests. */
  static readonly layerStatic = (poll: Poll) =>
    Layer.succeed(LivePoll, LivePoll.of({ current: Effect.succeed(poll), changes: Stream.make(poll) }))
}

const samePoll = (a: Poll, b: Poll): boolean =>
  a.title === b.title &&
  a.options.length === b.options.length &&
  a.options.every((option, i) => option.id === b.options[i]?.id && option.label === b.options[i]?.label)
